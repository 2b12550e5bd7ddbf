//! `/v1`: authentication, the account, and agents (created, listed, patched, kept apart).

use reqwest::Method;
use serde_json::{Value, json};

use super::*;
use crate::support::{INVALID_REQUEST, INVALID_TOKEN, JSON_UTF8, NOT_FOUND, TestApp, code};

on_both_databases! {
    missing_or_bad_token_is_401_1014, suspended_account_is_403_1039,
    account_shows_and_patches_its_wrap_policy, agents_are_created_shown_and_patched,
    agent_list_walks_in_creation_order, unknown_and_foreign_agents_answer_identical_404s,
    accounts_never_see_each_other,
}

/// Every route on one agent, by its tail below `/v1/agents/{id}`.
fn agent_routes() -> [(Method, &'static str); 13] {
    [
        (Method::GET, ""),
        (Method::PATCH, ""),
        (Method::POST, "/disable"),
        (Method::POST, "/enable"),
        (Method::POST, "/sessions"),
        (Method::DELETE, "/sessions"),
        (Method::POST, "/break"),
        (Method::DELETE, "/break"),
        (Method::POST, "/wrap-up"),
        (Method::DELETE, "/wrap-up"),
        (Method::POST, "/call"),
        (Method::DELETE, "/call"),
        (Method::GET, "/events"),
    ]
}

// ---------------------------------------------------------------- authentication

async fn missing_or_bad_token_is_401_1014(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    // The account's routes, then every route on its agent 7.
    let account_routes = [
        (Method::GET, "/v1/account"),
        (Method::PATCH, "/v1/account"),
        (Method::GET, "/v1/agents"),
        (Method::POST, "/v1/agents"),
        (Method::GET, "/v1/events"),
        (Method::GET, "/v1/roster"),
        (Method::GET, "/v1/break-reasons"),
        (Method::POST, "/v1/sessions/logout"),
    ];
    let account_routes = account_routes.map(|(method, path)| (method, path.to_owned()));
    let on_agent = agent_routes().map(|(method, tail)| (method, format!("/v1/agents/7{tail}")));
    let wrong = format!("Basic {token}");
    for (method, path) in account_routes.into_iter().chain(on_agent) {
        for auth in [
            None,
            Some("Bearer apt_0000"),
            Some("Bearer "),
            Some(token.as_str()),
            Some(wrong.as_str()),
        ] {
            let body = Some(json!({"agentId": "8", "reason": "break", "callId": "x"}).to_string());
            let (status, content_type, text) = app.send(method.clone(), &path, auth, body).await;
            assert_eq!(
                (status, text.as_str()),
                (401, INVALID_TOKEN.as_str()),
                "{method} {path} {auth:?}"
            );
            assert_eq!(content_type, JSON_UTF8);
        }
    }
    // Nothing was done by those calls.
    let agents = app.v1_get("/v1/agents", &token).await;
    assert_eq!(agents["items"].as_array().unwrap().len(), 1);
    assert!(account_history(&app, &token).await.is_empty());
}

async fn suspended_account_is_403_1039(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    app.admin().set_suspended("acme", true).await.unwrap();
    for (method, path) in [
        (Method::GET, "/v1/account"),
        (Method::GET, "/v1/agents"),
        (Method::POST, "/v1/agents/7/sessions"),
        (Method::POST, "/v1/agents/7/break"),
        (Method::GET, "/v1/roster"),
        (Method::GET, "/v1/events"),
    ] {
        let body = Some(json!({"reason": "break"}));
        app.v1_err(method, path, &token, body, (403, 1039)).await;
    }
    app.admin().set_suspended("acme", false).await.unwrap();
    let data = app.v1_get("/v1/account", &token).await;
    assert_eq!(data["userId"], "acme");
    assert!(account_history(&app, &token).await.is_empty());
}

// ---------------------------------------------------------------- account and agents

async fn account_shows_and_patches_its_wrap_policy(app: TestApp) {
    app.admin()
        .create_account("acme", "Acme Inc")
        .await
        .unwrap();
    let token = app.admin().create_token("acme").await.unwrap();
    let path = "/v1/account";
    let data = app.v1_get(path, &token).await;
    assert_eq!(
        data,
        json!({"userId": "acme", "name": "Acme Inc", "wrapSeconds": 60, "wrapMode": "timed",
               "timeZone": "UTC"})
    );
    let body = Some(json!({"wrapSeconds": 30}));
    let data = app.v1_ok(Method::PATCH, path, &token, body, 200).await;
    assert_eq!(data["wrapSeconds"], 30);
    assert_eq!(data["wrapMode"], "timed");
    let body = Some(json!({"wrapMode": "untimed"}));
    let data = app.v1_ok(Method::PATCH, path, &token, body, 200).await;
    assert_eq!(data["wrapSeconds"], 30);
    assert_eq!(data["wrapMode"], "untimed");
    // An empty patch changes nothing.
    let data = app.v1_ok(Method::PATCH, path, &token, None, 200).await;
    assert_eq!(
        data,
        json!({"userId": "acme", "name": "Acme Inc", "wrapSeconds": 30, "wrapMode": "untimed",
               "timeZone": "UTC"})
    );
    // Bad input: 422, nothing changes.
    for (body, want) in [
        (json!({"wrapSeconds": -1}), 1000),
        (json!({"wrapMode": "sometimes"}), 1001),
        (json!({"wrapMode": "FORCED"}), 1001),
        (json!({"wrapSeconds": "30"}), 1001),
        (json!({"wrapSeconds": 1.5}), 1001),
    ] {
        app.v1_err(Method::PATCH, path, &token, Some(body), (422, want))
            .await;
    }
    let auth = format!("Bearer {token}");
    let broken = Some("{\"wrapSeconds\":".to_owned());
    let (status, _, text) = app.send(Method::PATCH, path, Some(&auth), broken).await;
    assert_eq!((status, text.as_str()), (422, INVALID_REQUEST.as_str()));
    let data = app.v1_get(path, &token).await;
    assert_eq!(data["wrapSeconds"], 30);
    assert_eq!(data["wrapMode"], "untimed");
}

async fn agents_are_created_shown_and_patched(app: TestApp) {
    let token = app.new_account("acme").await;
    let data = app
        .create_agent(&token, json!({"agentId": "101", "name": "Ann"}))
        .await;
    let ann = json!({
        "agentId": "101", "name": "Ann", "wrapSeconds": null, "wrapMode": null,
        "effectiveWrap": {"seconds": 60, "mode": "timed"}, "disabled": false
    });
    assert_eq!(data, ann);
    // An integer id, and wrap-up overrides at creation.
    let body = json!({"agentId": 102, "name": "Bob", "wrapSeconds": 20, "wrapMode": "forced"});
    let data = app.create_agent(&token, body).await;
    assert_eq!(
        data,
        json!({
            "agentId": "102", "name": "Bob", "wrapSeconds": 20, "wrapMode": "forced",
            "effectiveWrap": {"seconds": 20, "mode": "forced"}, "disabled": false
        })
    );
    // Without a name.
    let data = app.create_agent(&token, json!({"agentId": " 103 "})).await;
    assert_eq!(data["agentId"], "103");
    assert_eq!(data["name"], "");

    let path = "/v1/agents";
    for (body, want) in [
        (json!({"agentId": "101"}), (409, 1513)),
        (json!({"agentId": 101, "name": "Again"}), (409, 1513)),
        (json!({"name": "Nobody"}), (422, 1505)),
        (json!({"agentId": "   "}), (422, 1505)),
        (json!({"agentId": true}), (422, 1001)),
        (json!({"agentId": 1.5}), (422, 1001)),
        (json!({"agentId": "104", "wrapSeconds": -5}), (422, 1000)),
        (json!({"agentId": "104", "wrapMode": "never"}), (422, 1001)),
        (json!({"agentId": "104", "name": 5}), (422, 1001)),
    ] {
        let (status, answer) = app.v1(Method::POST, path, &token, Some(body.clone())).await;
        assert_eq!((status, code(&answer)), want, "{body}: {answer}");
        if want.1 == 1505 {
            assert_eq!(answer["message"], "Missing required parameters:agentId");
        }
    }
    let data = app.v1_get("/v1/agents/101", &token).await;
    assert_eq!(data, ann, "a refused duplicate changed nothing");
    let (status, answer) = app.v1(Method::GET, "/v1/agents/104", &token, None).await;
    assert_eq!(
        (status, code(&answer)),
        (404, 1512),
        "refused creations created nothing"
    );

    // Patch.
    let path = "/v1/agents/101";
    let body = Some(json!({"name": "Annie"}));
    let data = app.v1_ok(Method::PATCH, path, &token, body, 200).await;
    assert_eq!(data["name"], "Annie");
    assert_eq!(data["wrapSeconds"], Value::Null);
    for (body, want) in [
        (json!({"wrapSeconds": -1}), 1000),
        (json!({"wrapMode": "later"}), 1001),
        (json!({"name": 7}), 1001),
    ] {
        app.v1_err(Method::PATCH, path, &token, Some(body), (422, want))
            .await;
    }
    let body = Some(json!({"name": "x"}));
    app.v1_err(Method::PATCH, "/v1/agents/nope", &token, body, (404, 1512))
        .await;
    let data = app.v1_get(path, &token).await;
    assert_eq!(data["name"], "Annie");
    assert_eq!(
        data["effectiveWrap"],
        json!({"seconds": 60, "mode": "timed"})
    );
}

async fn agent_list_walks_in_creation_order(app: TestApp) {
    let token = app.new_account("acme").await;
    let other = app.new_account("globex").await;
    // Creation order differs from text order.
    let created = ["z", "10", "9", "a", "b-2"];
    for (i, id) in created.iter().enumerate() {
        app.create_agent(&token, json!({ "agentId": id })).await;
        if i == 1 {
            app.create_agent(&other, json!({"agentId": "foreign"}))
                .await;
        }
    }
    for limit in [1, 2, 3, 5, 6, 500] {
        let items = walk(&app, &token, "/v1/agents", limit).await;
        let got: Vec<&str> = items
            .iter()
            .map(|a| a["agentId"].as_str().unwrap())
            .collect();
        assert_eq!(got, created, "limit {limit}");
    }
    // The default page holds them all.
    let data = app.v1_get("/v1/agents", &token).await;
    assert_eq!(data["items"].as_array().unwrap().len(), 5);
    assert_eq!(data["nextCursor"], Value::Null);
    let bad = [
        ("limit=0", 1000),
        ("limit=501", 1000),
        ("limit=-1", 1000),
        ("limit=ten", 1001),
        ("cursor=abc", 1000),
        ("cursor=-3", 1000),
    ];
    app.v1_bad_queries("/v1/agents", &token, &bad).await;
}

async fn unknown_and_foreign_agents_answer_identical_404s(app: TestApp) {
    let a = app.new_account("acme").await;
    let b = app.new_account("globex").await;
    app.create_agent(&a, json!({"agentId": "7"})).await;
    let ssid = app.login(&a, "7").await;
    let body = json!({"reason": "break", "callId": "c", "cNumber": "1", "name": "x"});
    for (method, tail) in agent_routes() {
        let foreign = format!("/v1/agents/7{tail}");
        let unknown = format!("/v1/agents/nobody{tail}");
        let got_foreign = app
            .v1_raw(method.clone(), &foreign, &b, Some(body.clone()))
            .await;
        let got_unknown = app
            .v1_raw(method.clone(), &unknown, &b, Some(body.clone()))
            .await;
        assert_eq!(
            got_foreign,
            (404, NOT_FOUND.as_str().to_owned()),
            "{method} {foreign}"
        );
        assert_eq!(got_foreign, got_unknown, "{method} {tail}");
    }
    let foreign = app
        .v1_raw(Method::GET, "/v1/events?agentId=7", &b, None)
        .await;
    let unknown = app
        .v1_raw(Method::GET, "/v1/events?agentId=nobody", &b, None)
        .await;
    assert_eq!(foreign, (404, NOT_FOUND.as_str().to_owned()));
    assert_eq!(foreign, unknown);

    // A's agent is untouched: enabled, logged in, no break, no wrap-up, only its login.
    let data = app.v1_get("/v1/agents/7", &a).await;
    assert_eq!(data["disabled"], false);
    assert_eq!(data["name"], "");
    let c = app.call_code("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(c, 1502);
    assert_eq!(app.call_code("wrapUp", json!({ "ssid": ssid })).await, 1504);
    let events = app.history(&a, "7").await;
    assert_eq!(kinds_and_actors(&events).len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "login");
}

async fn accounts_never_see_each_other(app: TestApp) {
    let a = app.new_account("acme").await;
    let b = app.new_account("globex").await;
    app.create_agent(&a, json!({"agentId": "7", "name": "A7"}))
        .await;
    app.create_agent(&a, json!({"agentId": "8", "name": "A8"}))
        .await;
    app.create_agent(&b, json!({"agentId": "7", "name": "B7"}))
        .await;
    let a_ssid = app.login(&a, "7").await;
    let b_ssid = app.login(&b, "7").await;
    let body = Some(json!({"reason": "lunch"}));
    app.v1_ok(Method::POST, "/v1/agents/7/break", &a, body, 201)
        .await;
    let body = json!({"callId": "a-call", "cNumber": "1"});
    app.v1_ok(Method::POST, "/v1/agents/8/wrap-up", &a, Some(body), 201)
        .await;

    // B's roster, list and history hold only B's agent.
    let entries = app.roster(&b).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["name"], "B7");
    assert_eq!(entries[0]["state"], "available");
    assert_eq!(entries[0]["break"], Value::Null);
    let agents = app.v1_get("/v1/agents", &b).await;
    let names: Vec<&Value> = agents["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["name"])
        .collect();
    assert_eq!(names, vec!["B7"]);
    let b_events = account_history(&app, &b).await;
    assert_eq!(
        kinds_and_actors(&b_events),
        vec![("login".to_owned(), app.token_actor(&b).await)]
    );
    let b_agent_events = app.history(&b, "7").await;
    assert_eq!(b_agent_events, b_events);
    let walked = walk(&app, &b, "/v1/events", 1).await;
    assert_eq!(walked, b_events);
    // B's "7" is its own agent: not on break.
    let data = app.v1_get("/v1/agents/7", &b).await;
    assert_eq!(data["name"], "B7");
    let c = app
        .call_code("agentOnBreak", json!({ "ssid": b_ssid }))
        .await;
    assert_eq!(c, 1502);
    // B cannot log A's session out, nor end A's break.
    let body = Some(json!({ "ssid": a_ssid }));
    app.v1_err(Method::POST, "/v1/sessions/logout", &b, body, (404, 1512))
        .await;
    let c = app
        .call_code("agentOnBreak", json!({ "ssid": a_ssid }))
        .await;
    assert_eq!(c, 0, "A's session and break are untouched");
    app.v1_err(Method::DELETE, "/v1/agents/7/break", &b, None, (409, 1502))
        .await;
    app.call_ok("agentOnBreak", json!({ "ssid": a_ssid })).await;

    // A sees its own two agents and none of B's.
    let entries = app.roster(&a).await;
    let names: Vec<&Value> = entries.iter().map(|e| &e["name"]).collect();
    assert_eq!(names, vec!["A7", "A8"]);
    let a_events = account_history(&app, &a).await;
    assert!(
        a_events
            .iter()
            .all(|e| e["agentId"] == "7" || e["agentId"] == "8")
    );
    assert_eq!(a_events.len(), 3, "{a_events:?}");
    let a_ids = ids(&a_events);
    assert!(ids(&b_events).iter().all(|id| !a_ids.contains(id)));
}
