//! The management API (`/v1`): authentication, accounts, agents, sessions, breaks and
//! wrap-ups by the backend, break reasons, the roster, and the history with its cursor.

mod common;

use std::time::Duration;

use agentprofile::domain::now_unix;
use common::{INVALID_REQUEST, INVALID_TOKEN, JSON_UTF8, NOT_FOUND, TestApp, code, near_now};
use reqwest::Method;
use serde_json::{Value, json};

on_both_databases!(
    missing_or_bad_token_is_401_1014,
    suspended_account_is_403_1039,
    account_shows_and_patches_its_wrap_policy,
    agents_are_created_shown_and_patched,
    agent_list_walks_in_creation_order,
    unknown_and_foreign_agents_answer_identical_404s,
    accounts_never_see_each_other,
    sessions_log_in_and_out,
    breaks_through_v1,
    wrap_ups_through_v1_refuse_bad_input,
    break_reasons_are_created_and_patched,
    disable_logs_out_and_ends_break_and_wrap_up,
    roster_shows_every_agent_state,
    a_whole_agent_day_is_recorded_exactly_once,
    history_pages_walk_every_event_once,
    history_filters_by_time_range,
    history_refuses_bad_queries,
);

// ---------------------------------------------------------------- helpers

/// Every item of a paged list, walking `nextCursor` with this page size; checks each page.
async fn walk(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let data = app.v1_get(&url, token).await;
        let page = data["items"].as_array().unwrap();
        assert!(page.len() <= limit, "{url}: {data}");
        items.extend(page.iter().cloned());
        match &data["nextCursor"] {
            Value::Null => return items,
            Value::String(next) => {
                assert_eq!(page.len(), limit, "a short page has no next one: {data}");
                cursor = Some(next.clone());
            }
            other => panic!("nextCursor is a string or null, not {other}"),
        }
    }
    panic!("{path}: the cursor never reached the end");
}

/// The account's whole history in one page.
async fn account_history(app: &TestApp, token: &str) -> Vec<Value> {
    app.events(token, "/v1/events?limit=500").await
}

/// Upstream calls made in this order, each of which must answer its code.
async fn upstream_steps(app: &TestApp, steps: &[(&str, Value, u64)]) {
    for (route, body, want) in steps {
        let got = app.call_code(route, body.clone()).await;
        assert_eq!(got, *want, "{route} {body}");
    }
}

fn kinds_and_actors(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

// ---------------------------------------------------------------- authentication

async fn missing_or_bad_token_is_401_1014(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let routes = [
        (Method::GET, "/v1/account"),
        (Method::PATCH, "/v1/account"),
        (Method::GET, "/v1/agents"),
        (Method::POST, "/v1/agents"),
        (Method::GET, "/v1/agents/7"),
        (Method::POST, "/v1/agents/7/disable"),
        (Method::POST, "/v1/agents/7/sessions"),
        (Method::POST, "/v1/agents/7/break"),
        (Method::POST, "/v1/agents/7/wrap-up"),
        (Method::GET, "/v1/agents/7/events"),
        (Method::GET, "/v1/events"),
        (Method::GET, "/v1/roster"),
        (Method::GET, "/v1/break-reasons"),
        (Method::POST, "/v1/sessions/logout"),
    ];
    let wrong = format!("Basic {token}");
    for (method, path) in routes {
        for auth in [
            None,
            Some("Bearer apt_0000"),
            Some("Bearer "),
            Some(token.as_str()),
            Some(wrong.as_str()),
        ] {
            let body = Some(json!({"agentId": "8", "reason": "break", "callId": "x"}).to_string());
            let (status, content_type, text) = app.send(method.clone(), path, auth, body).await;
            assert_eq!(
                (status, text.as_str()),
                (401, INVALID_TOKEN),
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
        json!({"userId": "acme", "name": "Acme Inc", "wrapSeconds": 60, "wrapMode": "timed"})
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
        json!({"userId": "acme", "name": "Acme Inc", "wrapSeconds": 30, "wrapMode": "untimed"})
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
    assert_eq!((status, text.as_str()), (422, INVALID_REQUEST));
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
    for (query, want) in [
        ("limit=0", 1000),
        ("limit=501", 1000),
        ("limit=-1", 1000),
        ("limit=ten", 1001),
        ("cursor=abc", 1000),
        ("cursor=-3", 1000),
    ] {
        let path = format!("/v1/agents?{query}");
        app.v1_err(Method::GET, &path, &token, None, (422, want))
            .await;
    }
}

async fn unknown_and_foreign_agents_answer_identical_404s(app: TestApp) {
    let a = app.new_account("acme").await;
    let b = app.new_account("globex").await;
    app.create_agent(&a, json!({"agentId": "7"})).await;
    let ssid = app.login(&a, "7").await;
    let body = json!({"reason": "break", "callId": "c", "cNumber": "1", "name": "x"});
    for (method, tail) in [
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
        (Method::GET, "/events"),
    ] {
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
            (404, NOT_FOUND.to_owned()),
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
    assert_eq!(foreign, (404, NOT_FOUND.to_owned()));
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

// ---------------------------------------------------------------- sessions, breaks, wrap-ups

async fn sessions_log_in_and_out(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let data = app
        .v1_ok(Method::POST, "/v1/agents/7/sessions", &token, None, 201)
        .await;
    let mut keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, vec!["expiresAt", "ssid"]);
    let ssid = data["ssid"].as_str().unwrap().to_owned();
    assert_eq!(ssid.len(), 64);
    let expires = data["expiresAt"].as_i64().unwrap();
    assert!((expires - now_unix() - 43200).abs() <= 2, "{data}");

    // The ssid works upstream.
    let c = app.call_code("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(c, 1502);
    let ping = json!({"ssid": ssid, "mic_perm": "granted"});
    app.call_ok("setWebPingTime", ping).await;
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "available");
    assert_eq!(entry["loggedIn"], true);

    // One session out by its ssid.
    let logout = "/v1/sessions/logout";
    let body = Some(json!({ "ssid": ssid }));
    let data = app.v1_ok(Method::POST, logout, &token, body, 200).await;
    assert_eq!(data, json!({"loggedOut": 1}));
    for (body, want) in [
        (json!({ "ssid": ssid }), (404, 1512)),
        (json!({"ssid": "never-issued"}), (404, 1512)),
        (json!({}), (422, 1505)),
        (json!({"ssid": 5}), (422, 1001)),
    ] {
        app.v1_err(Method::POST, logout, &token, Some(body), want)
            .await;
    }
    let steps = [
        ("agentOnBreak", json!({ "ssid": ssid }), 1000),
        ("setWebPingTime", json!({"ssid": ssid, "mic_perm": 1}), 1503),
    ];
    upstream_steps(&app, &steps).await;
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "offline");
    assert_eq!(entry["loggedIn"], false);

    // All sessions out at once.
    let s1 = app.login(&token, "7").await;
    let s2 = app.login(&token, "7").await;
    assert_ne!(s1, s2);
    let path = "/v1/agents/7/sessions";
    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data, json!({"loggedOut": 2}));
    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data, json!({"loggedOut": 0}));
    for s in [&s1, &s2] {
        let c = app.call_code("agentOnBreak", json!({ "ssid": s })).await;
        assert_eq!(c, 1000);
    }
    let token_actor = app.token_actor(&token).await;
    let events = app.history(&token, "7").await;
    let session = app.session_pk(&ssid).await;
    let want: Vec<(String, String)> = [
        ("login", token_actor.clone()),
        ("mic.change", format!("session:{session}")),
        ("logout", token_actor.clone()),
        ("login", token_actor.clone()),
        ("login", token_actor.clone()),
        ("logout", token_actor.clone()),
    ]
    .into_iter()
    .map(|(k, a)| (k.to_owned(), a))
    .collect();
    assert_eq!(kinds_and_actors(&events), want);
    assert_eq!(events[0]["details"]["session"], session);
    assert_eq!(events[0]["details"]["expiresAt"], expires);
    assert_eq!(events[2]["details"]["session"], session);
    assert_eq!(events[5]["details"]["sessions"], 2);
}

async fn breaks_through_v1(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ssid = app.login(&token, "7").await;
    let path = "/v1/agents/7/break";
    for (body, want) in [
        (None, 1505),
        (Some(json!({"reason": " "})), 1505),
        (Some(json!({"reason": 3})), 1001),
        (Some(json!({"reason": "nap"})), 1508),
    ] {
        app.v1_err(Method::POST, path, &token, body, (422, want))
            .await;
    }
    app.v1_err(Method::DELETE, path, &token, None, (409, 1502))
        .await;

    let body = Some(json!({"reason": "Lunch"}));
    let data = app.v1_ok(Method::POST, path, &token, body, 201).await;
    let started = data["breakSTime"].clone();
    assert!(near_now(&started), "{data}");
    assert_eq!(
        data,
        json!({"reason": "Lunch", "reasonCode": "lunch", "breakSTime": started,
               "currentDuration": 0, "limit": 3600, "overLimit": false})
    );
    let body = Some(json!({"reason": "break"}));
    app.v1_err(Method::POST, path, &token, body, (409, 1507))
        .await;
    let on_break = app.call_ok("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(on_break["breakDetail"]["breakSTime"], started);

    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data["reasonCode"], "lunch");
    assert_eq!(data["breakSTime"], started);
    app.v1_err(Method::DELETE, path, &token, None, (409, 1502))
        .await;
    let c = app.call_code("agentOnBreak", json!({ "ssid": ssid })).await;
    assert_eq!(c, 1502);

    let actor = app.token_actor(&token).await;
    let events = app.history(&token, "7").await;
    let got = kinds_and_actors(&events);
    let want: Vec<(String, String)> = ["login", "break.start", "break.end"]
        .into_iter()
        .map(|k| (k.to_owned(), actor.clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        events[1]["details"],
        json!({"reasonCode": "lunch", "reason": "Lunch", "limit": 3600})
    );
    assert_eq!(events[2]["details"]["reasonCode"], "lunch");
    assert_eq!(events[2]["details"]["overLimit"], false);
}

async fn wrap_ups_through_v1_refuse_bad_input(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let path = "/v1/agents/7/wrap-up";
    for (body, want) in [
        (json!({"cNumber": "1"}), (422, 1505)),
        (json!({"callId": "  ", "cNumber": "1"}), (422, 1505)),
        (json!({"callId": 5, "cNumber": "1"}), (422, 1001)),
        (json!({"callId": "c", "cNumber": 5}), (422, 1001)),
        (json!({"callId": "c", "seconds": -1}), (422, 1000)),
        (json!({"callId": "c", "seconds": "10"}), (422, 1001)),
    ] {
        app.v1_err(Method::POST, path, &token, Some(body), want)
            .await;
    }
    app.v1_err(Method::DELETE, path, &token, None, (409, 1504))
        .await;
    // cNumber may be left out.
    let body = Some(json!({"callId": "c-1"}));
    let data = app.v1_ok(Method::POST, path, &token, body, 201).await;
    assert_eq!(data["cNumber"], "");
    assert_eq!(data["callId"], "c-1");
    let body = Some(json!({"callId": "c-2"}));
    app.v1_err(Method::POST, path, &token, body, (409, 1511))
        .await;
    let data = app.v1_ok(Method::DELETE, path, &token, None, 200).await;
    assert_eq!(data["callId"], "c-1");
    assert!(near_now(&data["endedAt"]), "{data}");
    app.v1_err(Method::DELETE, path, &token, None, (409, 1504))
        .await;
    let events = app.history(&token, "7").await;
    let kinds: Vec<&Value> = events.iter().map(|e| &e["kind"]).collect();
    assert_eq!(kinds, vec!["wrap.start", "wrap.end"]);
}

async fn break_reasons_are_created_and_patched(app: TestApp) {
    let token = app.new_account("acme").await;
    let path = "/v1/break-reasons";
    let body = json!({"code": "coaching", "label": "Coaching", "limitSeconds": 1200});
    let data = app.create_reason(&token, body).await;
    assert_eq!(
        data,
        json!({"code": "coaching", "label": "Coaching", "limitSeconds": 1200, "active": true})
    );
    let data = app
        .create_reason(&token, json!({"code": "nap", "label": "Nap"}))
        .await;
    assert_eq!(data["limitSeconds"], Value::Null);
    for (body, want) in [
        (json!({"code": "coaching", "label": "Again"}), (409, 1513)),
        (json!({"code": "lunch", "label": "Lunch 2"}), (409, 1513)),
        (json!({"label": "No code"}), (422, 1505)),
        (json!({"code": "x"}), (422, 1505)),
        (json!({"code": "x", "label": "  "}), (422, 1505)),
        (
            json!({"code": "x", "label": "X", "limitSeconds": 0}),
            (422, 1000),
        ),
        (
            json!({"code": "x", "label": "X", "limitSeconds": -5}),
            (422, 1000),
        ),
        (
            json!({"code": "x", "label": "X", "limitSeconds": "60"}),
            (422, 1001),
        ),
        (json!({"code": 1, "label": "X"}), (422, 1001)),
    ] {
        app.v1_err(Method::POST, path, &token, Some(body), want)
            .await;
    }
    let list = app.v1_get(path, &token).await;
    let codes: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["code"])
        .collect();
    assert_eq!(
        codes,
        vec![
            "break", "lunch", "personal", "meeting", "training", "coaching", "nap"
        ]
    );

    let one = "/v1/break-reasons/coaching";
    let body = Some(json!({"label": "1:1 coaching"}));
    let data = app.v1_ok(Method::PATCH, one, &token, body, 200).await;
    assert_eq!(
        data,
        json!({"code": "coaching", "label": "1:1 coaching", "limitSeconds": 1200, "active": true})
    );
    let body = Some(json!({"limitSeconds": null}));
    let data = app.v1_ok(Method::PATCH, one, &token, body, 200).await;
    assert_eq!(data["limitSeconds"], Value::Null);
    assert_eq!(data["label"], "1:1 coaching");
    let body = Some(json!({"limitSeconds": 30, "active": false}));
    let data = app.v1_ok(Method::PATCH, one, &token, body, 200).await;
    assert_eq!(
        data,
        json!({"code": "coaching", "label": "1:1 coaching", "limitSeconds": 30, "active": false})
    );
    // An empty patch keeps everything.
    let same = app
        .v1_ok(Method::PATCH, one, &token, Some(json!({})), 200)
        .await;
    assert_eq!(same, data);
    for (body, want) in [
        (json!({"limitSeconds": 0}), 1000),
        (json!({"label": ""}), 1505),
        (json!({"active": "no"}), 1001),
    ] {
        app.v1_err(Method::PATCH, one, &token, Some(body), (422, want))
            .await;
    }
    let missing = "/v1/break-reasons/unknown";
    let body = Some(json!({"label": "X"}));
    app.v1_err(Method::PATCH, missing, &token, body, (404, 1512))
        .await;
    // Another account's reason is not found here.
    let other = app.new_account("globex").await;
    let body = Some(json!({"label": "Mine"}));
    app.v1_err(Method::PATCH, one, &other, body, (404, 1512))
        .await;
    let list = app.v1_get(path, &token).await;
    assert_eq!(list[5], data);
}

async fn disable_logs_out_and_ends_break_and_wrap_up(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7", "name": "Ann"}))
        .await;
    let s1 = app.login(&token, "7").await;
    let s2 = app.login(&token, "7").await;
    app.call_ok("startBreak", json!({"ssid": s1, "reason": "break"}))
        .await;
    let body = Some(json!({"callId": "c-1", "cNumber": "+1"}));
    app.v1_ok(Method::POST, "/v1/agents/7/wrap-up", &token, body, 201)
        .await;
    let before = app.history(&token, "7").await.len();

    let data = app
        .v1_ok(Method::POST, "/v1/agents/7/disable", &token, None, 200)
        .await;
    assert_eq!(data["disabled"], true);
    assert_eq!(data["agentId"], "7");

    // The old ssids are refused.
    for s in [&s1, &s2] {
        let steps = [
            ("agentOnBreak", json!({ "ssid": s }), 1000),
            ("setWebPingTime", json!({"ssid": s, "mic_perm": 1}), 1503),
            ("startBreak", json!({"ssid": s, "reason": "break"}), 1000),
        ];
        upstream_steps(&app, &steps).await;
    }
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "disabled", "{entry}");
    assert_eq!(entry["disabled"], true);
    assert_eq!(entry["loggedIn"], false);
    assert_eq!(entry["break"], Value::Null);
    assert_eq!(entry["wrapUp"], Value::Null);

    // One change, recorded once, all at the same time by the same actor.
    let actor = app.token_actor(&token).await;
    let events = app.history(&token, "7").await;
    let new = &events[before..];
    let got = kinds_and_actors(new);
    let want: Vec<(String, String)> = ["logout", "break.end", "wrap.end", "agent.disabled"]
        .into_iter()
        .map(|k| (k.to_owned(), actor.clone()))
        .collect();
    assert_eq!(got, want);
    assert!(new.iter().all(|e| e["at"] == new[0]["at"]), "{new:?}");
    assert_eq!(new[0]["details"]["sessions"], 2);
    assert_eq!(new[0]["details"]["how"], "disabled");
    assert_eq!(new[1]["details"]["reasonCode"], "break");
    assert_eq!(new[1]["details"]["how"], "disabled");
    assert_eq!(new[2]["details"]["callId"], "c-1");
    assert_eq!(new[2]["details"]["how"], "disabled");

    // A disabled agent cannot be logged in or put on break or in wrap-up.
    let base = "/v1/agents/7";
    for (method, tail, body, want) in [
        (Method::POST, "sessions", None, 1510),
        (
            Method::POST,
            "break",
            Some(json!({"reason": "break"})),
            1510,
        ),
        (
            Method::POST,
            "wrap-up",
            Some(json!({"callId": "c-2"})),
            1510,
        ),
        (Method::DELETE, "break", None, 1502),
        (Method::DELETE, "wrap-up", None, 1504),
    ] {
        let path = format!("{base}/{tail}");
        app.v1_err(method, &path, &token, body, (409, want)).await;
    }
    let data = app
        .v1_ok(
            Method::DELETE,
            &format!("{base}/sessions"),
            &token,
            None,
            200,
        )
        .await;
    assert_eq!(data, json!({"loggedOut": 0}));
    // Disabling again changes and records nothing.
    let data = app
        .v1_ok(Method::POST, &format!("{base}/disable"), &token, None, 200)
        .await;
    assert_eq!(data["disabled"], true);
    assert_eq!(app.history(&token, "7").await.len(), events.len());

    // Enabled: a new login works; the old ssids stay out.
    for _ in 0..2 {
        let data = app
            .v1_ok(Method::POST, &format!("{base}/enable"), &token, None, 200)
            .await;
        assert_eq!(data["disabled"], false);
    }
    let s3 = app.login(&token, "7").await;
    let steps = [
        ("agentOnBreak", json!({ "ssid": s3 }), 1502),
        ("agentOnBreak", json!({ "ssid": s1 }), 1000),
    ];
    upstream_steps(&app, &steps).await;
    let events = app.history(&token, "7").await;
    let tail: Vec<&Value> = events[events.len() - 2..]
        .iter()
        .map(|e| &e["kind"])
        .collect();
    assert_eq!(tail, vec!["agent.enabled", "login"]);
    let entry = &app.roster(&token).await[0];
    assert_eq!(entry["state"], "available");
}

async fn roster_shows_every_agent_state(app: TestApp) {
    let token = app.new_account("acme").await;
    for id in ["f", "e", "d", "c", "b", "a"] {
        let name = id.to_uppercase();
        app.create_agent(&token, json!({"agentId": id, "name": name}))
            .await;
    }
    // a: offline. b: logged in and pinging.
    let b = app.login(&token, "b").await;
    app.call_ok("setWebPingTime", json!({"ssid": b, "mic_perm": "prompt"}))
        .await;
    // c: logged in, on a lunch break.
    let cs = app.login(&token, "c").await;
    let lunch = json!({"ssid": cs, "reason": "lunch"});
    let c_since = app.call_ok("startBreak", lunch).await["breakDetail"]["breakSTime"].clone();
    // d: not logged in, in wrap-up.
    let body = Some(json!({"callId": "call-d", "cNumber": "+100"}));
    let d_wrap = app
        .v1_ok(Method::POST, "/v1/agents/d/wrap-up", &token, body, 201)
        .await;
    // e: was logged in and on break, then disabled.
    let es = app.login(&token, "e").await;
    app.call_ok("setWebPingTime", json!({"ssid": es, "mic_perm": true}))
        .await;
    let body = Some(json!({"reason": "break"}));
    app.v1_ok(Method::POST, "/v1/agents/e/break", &token, body, 201)
        .await;
    app.v1_ok(Method::POST, "/v1/agents/e/disable", &token, None, 200)
        .await;
    // f: on break and in wrap-up at once (not logged in): the break shows first.
    let body = Some(json!({"reason": "meeting"}));
    app.v1_ok(Method::POST, "/v1/agents/f/break", &token, body, 201)
        .await;
    let body = Some(json!({"callId": "call-f", "cNumber": "+200", "seconds": 300}));
    app.v1_ok(Method::POST, "/v1/agents/f/wrap-up", &token, body, 201)
        .await;

    let entries = app.roster(&token).await;
    let order: Vec<&Value> = entries.iter().map(|e| &e["agentId"]).collect();
    assert_eq!(order, vec!["a", "b", "c", "d", "e", "f"]);
    for e in &entries {
        let mut keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        keys.sort();
        let mut want = vec![
            "agentId",
            "break",
            "disabled",
            "lastPingAt",
            "loggedIn",
            "micPerm",
            "name",
            "state",
            "wrapUp",
        ];
        want.sort();
        assert_eq!(keys, want, "{e}");
    }
    let summary: Vec<(&str, bool, bool)> = entries
        .iter()
        .map(|e| {
            (
                e["state"].as_str().unwrap(),
                e["loggedIn"].as_bool().unwrap(),
                e["disabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("offline", false, false),
            ("available", true, false),
            ("on_break", true, false),
            ("wrap_up", false, false),
            ("disabled", false, true),
            ("on_break", false, false),
        ]
    );
    let [a, b, c, d, e, f] = &entries[..] else {
        unreachable!()
    };
    assert_eq!(a["name"], "A");
    assert_eq!((&a["break"], &a["wrapUp"]), (&Value::Null, &Value::Null));
    assert_eq!(
        (&a["lastPingAt"], &a["micPerm"]),
        (&Value::Null, &Value::Null)
    );
    assert!(near_now(&b["lastPingAt"]), "{b}");
    assert_eq!(b["micPerm"], "prompt");
    assert_eq!(b["break"], Value::Null);

    let brk = &c["break"];
    assert_eq!(brk["reasonCode"], "lunch");
    assert_eq!(brk["reason"], "Lunch");
    assert_eq!(brk["since"], c_since);
    assert!((0..=2).contains(&brk["elapsed"].as_i64().unwrap()), "{c}");
    assert_eq!(brk["limit"], 3600);
    assert_eq!(brk["overLimit"], false);
    assert_eq!(c["wrapUp"], Value::Null);

    let wrap = &d["wrapUp"];
    assert_eq!(wrap["callId"], "call-d");
    assert_eq!(wrap["cNumber"], "+100");
    assert_eq!(wrap["mode"], "timed");
    assert_eq!(wrap["since"], d_wrap["startedAt"]);
    assert_eq!(wrap["wrapETime"], d_wrap["wrapETime"]);
    assert!(
        (58..=60).contains(&wrap["remaining"].as_i64().unwrap()),
        "{d}"
    );
    assert_eq!(d["break"], Value::Null);

    assert_eq!((&e["break"], &e["wrapUp"]), (&Value::Null, &Value::Null));
    assert_eq!(e["micPerm"], "granted");

    assert_eq!(f["break"]["reasonCode"], "meeting");
    assert_eq!(f["break"]["limit"], Value::Null);
    assert_eq!(f["break"]["overLimit"], false);
    assert_eq!(f["wrapUp"]["callId"], "call-f");
    assert!((298..=300).contains(&f["wrapUp"]["remaining"].as_i64().unwrap()));
}

// ---------------------------------------------------------------- history

async fn a_whole_agent_day_is_recorded_exactly_once(app: TestApp) {
    let token = app.new_account("acme").await;
    let t = app.token_actor(&token).await;
    let t = t.as_str();
    app.create_agent(&token, json!({"agentId": "7", "name": "Ann"}))
        .await;
    let agent_auth = json!({"userId": "acme", "token": token, "agentId": 7});

    // Morning: logged in by the backend, the browser pings.
    let ssid = app.login(&token, "7").await;
    let s = app.session_actor(&ssid).await;
    let s = s.as_str();
    let me = json!({ "ssid": ssid });
    let ping = |mic: Value| json!({"ssid": ssid, "mic_perm": mic});
    let brk = json!({"ssid": ssid, "reason": "break"});
    let steps = [
        ("setWebPingTime", ping(json!("granted")), 0),
        ("setWebPingTime", ping(json!(1)), 0),
        ("setWebPingTime", ping(json!("1")), 0),
        // A break, with refused repeats and reads in between.
        ("startBreak", brk.clone(), 0),
        ("startBreak", brk, 1507),
        ("agentOnBreak", me.clone(), 0),
        ("endBreak", me.clone(), 0),
        ("endBreak", me.clone(), 1502),
    ];
    upstream_steps(&app, &steps).await;
    // A call ends: wrap-up by the backend, ended early by the agent.
    let wrap_path = "/v1/agents/7/wrap-up";
    let body = json!({"callId": "c-1", "cNumber": "+1"});
    app.v1_ok(Method::POST, wrap_path, &token, Some(body.clone()), 201)
        .await;
    app.v1_err(Method::POST, wrap_path, &token, Some(body), (409, 1511))
        .await;
    let steps = [
        ("wrapUp", me.clone(), 0),
        ("endWrapUp", me.clone(), 0),
        ("endWrapUp", me.clone(), 1504),
        // The microphone is blocked.
        ("setWebPingTime", ping(json!("denied")), 0),
        ("setWebPingTime", ping(json!(0)), 0),
    ];
    upstream_steps(&app, &steps).await;
    // A supervisor's lunch, an operator's meeting, a token-driven break.
    let break_path = "/v1/agents/7/break";
    let body = Some(json!({"reason": "lunch"}));
    app.v1_ok(Method::POST, break_path, &token, body, 201).await;
    app.v1_ok(Method::DELETE, break_path, &token, None, 200)
        .await;
    app.admin()
        .start_break("acme", "7", "meeting")
        .await
        .unwrap();
    app.admin().end_break("acme", "7").await.unwrap();
    let mut body = agent_auth.clone();
    body["reason"] = json!("personal");
    assert_eq!(app.call_code("startBreak", body).await, 0);
    assert_eq!(app.call_code("endBreak", agent_auth.clone()).await, 0);
    // A wrap-up that runs out on its own.
    let body = json!({"callId": "c-2", "cNumber": "+2", "seconds": 1});
    let wrap = app
        .v1_ok(Method::POST, wrap_path, &token, Some(body), 201)
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(app.call_code("wrapUp", me.clone()).await, 1504, "expired");
    let mid = app.history(&token, "7").await;
    // Evening: logged out, logged in twice more, a break, then disabled and enabled.
    let sessions = "/v1/agents/7/sessions";
    let data = app.v1_ok(Method::DELETE, sessions, &token, None, 200).await;
    assert_eq!(data, json!({"loggedOut": 1}));
    let ssid2 = app.login(&token, "7").await;
    let body = Some(json!({ "ssid": ssid2 }));
    app.v1_ok(Method::POST, "/v1/sessions/logout", &token, body, 200)
        .await;
    let ssid3 = app.login(&token, "7").await;
    let s3 = app.session_actor(&ssid3).await;
    let s3 = s3.as_str();
    let body = json!({"ssid": ssid3, "reason": "training"});
    assert_eq!(app.call_code("startBreak", body).await, 0);
    for path in ["disable", "disable", "enable", "enable"].map(|a| format!("/v1/agents/7/{a}")) {
        app.v1_ok(Method::POST, &path, &token, None, 200).await;
    }

    let want: Vec<(String, String)> = [
        ("login", t),
        ("mic.change", s),
        ("break.start", s),
        ("break.end", s),
        ("wrap.start", t),
        ("wrap.end", s),
        ("mic.change", s),
        ("break.start", t),
        ("break.end", t),
        ("break.start", "cli"),
        ("break.end", "cli"),
        ("break.start", t),
        ("break.end", t),
        ("wrap.start", t),
        ("wrap.end", "system"),
        ("logout", t),
        ("login", t),
        ("logout", t),
        ("login", t),
        ("break.start", s3),
        ("logout", t),
        ("break.end", t),
        ("agent.disabled", t),
        ("agent.enabled", t),
    ]
    .into_iter()
    .map(|(k, a)| (k.to_owned(), a.to_owned()))
    .collect();
    let events = app.history(&token, "7").await;
    assert_eq!(kinds_and_actors(&events), want);
    assert_eq!(&events[..mid.len()], &mid[..], "the history only grows");
    // The same through the account's history, filtered or not, and page by page.
    let by_query = app.events(&token, "/v1/events?agentId=7&limit=500").await;
    assert_eq!(by_query, events);
    assert_eq!(account_history(&app, &token).await, events);
    assert_eq!(walk(&app, &token, "/v1/agents/7/events", 2).await, events);

    // Details that tell the story.
    assert!(events.iter().all(|e| e["agentId"] == "7"));
    let strictly_up = ids(&events).windows(2).all(|w| w[0] < w[1]);
    assert!(strictly_up, "{:?}", ids(&events));
    let at: Vec<i64> = events.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "{at:?}");
    assert_eq!(events[1]["details"], json!({"micPerm": "granted"}));
    assert_eq!(events[6]["details"], json!({"micPerm": "denied"}));
    assert_eq!(events[2]["details"]["reasonCode"], "break");
    assert_eq!(
        events[5]["details"],
        json!({"callId": "c-1", "how": "ended"})
    );
    assert_eq!(events[9]["details"]["reasonCode"], "meeting");
    assert_eq!(events[11]["details"]["reasonCode"], "personal");
    assert_eq!(events[13]["details"]["endsAt"], wrap["wrapETime"]);
    assert_eq!(
        events[14]["details"],
        json!({"callId": "c-2", "how": "expired"})
    );
    assert_eq!(events[14]["at"], wrap["wrapETime"]);
    assert_eq!(events[20]["details"]["how"], "disabled");
    assert_eq!(events[21]["details"]["how"], "disabled");
    assert_eq!(events[21]["details"]["reasonCode"], "training");
}

/// Makes `n` break.start/break.end pairs for the agent through /v1.
async fn breaks(app: &TestApp, token: &str, agent_id: &str, n: usize) {
    let path = format!("/v1/agents/{agent_id}/break");
    for _ in 0..n {
        let body = Some(json!({"reason": "break"}));
        app.v1_ok(Method::POST, &path, token, body, 201).await;
        app.v1_ok(Method::DELETE, &path, token, None, 200).await;
    }
}

async fn history_pages_walk_every_event_once(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    app.create_agent(&token, json!({"agentId": "8"})).await;
    app.login(&token, "7").await;
    breaks(&app, &token, "7", 3).await;
    app.login(&token, "8").await;
    breaks(&app, &token, "8", 2).await;
    breaks(&app, &token, "7", 1).await;
    // An odd count (9 for agent 7) and an even one (14 in the account).
    let mine = app.history(&token, "7").await;
    assert_eq!(mine.len(), 9);
    let all = account_history(&app, &token).await;
    assert_eq!(all.len(), 14);
    let all_ids = ids(&all);
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");

    for limit in [1, 2, 3, 7, 14, 15] {
        assert_eq!(
            walk(&app, &token, "/v1/events", limit).await,
            all,
            "limit {limit}"
        );
        let walked = walk(&app, &token, "/v1/agents/7/events", limit).await;
        assert_eq!(walked, mine, "limit {limit}");
        let walked = walk(&app, &token, "/v1/events?agentId=8", limit).await;
        assert_eq!(ids(&walked), ids(&app.history(&token, "8").await));
    }
    // Exactly the walk of limit=2: pages of two, the last one with nextCursor null.
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/v1/events?limit=2&cursor={cursor}");
        let data = app.v1_get(&path, &token).await;
        let page = ids(data["items"].as_array().unwrap());
        pages.push(page);
        match data["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let flat: Vec<i64> = pages.iter().flatten().copied().collect();
    assert_eq!(flat, all_ids);
    assert!(
        pages[..pages.len() - 1].iter().all(|p| p.len() == 2),
        "{pages:?}"
    );
    // A cursor from the middle resumes after that event.
    let path = format!("/v1/events?limit=500&cursor={}", all_ids[4]);
    let rest = app.events(&token, &path).await;
    assert_eq!(ids(&rest), all_ids[5..].to_vec());
}

async fn history_filters_by_time_range(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ssid = app.login(&token, "7").await; // at t1
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = json!({"ssid": ssid, "reason": "break"});
    assert_eq!(app.call_code("startBreak", body).await, 0); // at t2
    let body = json!({"ssid": ssid, "mic_perm": "granted"});
    assert_eq!(app.call_code("setWebPingTime", body).await, 0); // at t2 (or just after)
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.call_code("endBreak", json!({ "ssid": ssid })).await, 0); // at t3

    let all = app.history(&token, "7").await;
    let at: Vec<i64> = all.iter().map(|e| e["at"].as_i64().unwrap()).collect();
    assert_eq!(all.len(), 4, "{all:?}");
    let (t1, t2, t3) = (at[0], at[1], at[3]);
    assert!(t1 < t2 && at[2] < t3, "{at:?}");
    let select = |pred: &dyn Fn(i64) -> bool| -> Vec<Value> {
        all.iter()
            .filter(|e| pred(e["at"].as_i64().unwrap()))
            .cloned()
            .collect()
    };
    for base in [
        "/v1/agents/7/events?",
        "/v1/events?agentId=7&",
        "/v1/events?",
    ] {
        for (query, want) in [
            (format!("from={t1}"), all.clone()),
            (format!("from={t2}"), select(&|a| a >= t2)),
            (format!("to={t2}"), select(&|a| a < t2)),
            (
                format!("from={t2}&to={t3}"),
                select(&|a| (t2..t3).contains(&a)),
            ),
            (format!("from={t3}&to={t3}"), vec![]),
            (format!("from={}", t3 + 1), vec![]),
            (format!("to={t1}"), vec![]),
            (format!("from={t1}&to={}", t3 + 1), all.clone()),
        ] {
            let path = format!("{base}{query}&limit=500");
            let got = app.events(&token, &path).await;
            assert_eq!(ids(&got), ids(&want), "{path}");
        }
        // Pages within a range.
        let path = format!("{base}from={t2}");
        let walked = walk(&app, &token, &path, 1).await;
        assert_eq!(ids(&walked), ids(&select(&|a| a >= t2)), "{path}");
    }
    let path = format!("/v1/events?from={t3}&to={t2}");
    app.v1_err(Method::GET, &path, &token, None, (422, 1000))
        .await;
}

async fn history_refuses_bad_queries(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    for base in ["/v1/events", "/v1/agents/7/events"] {
        for (query, want) in [
            ("limit=0", 1000),
            ("limit=501", 1000),
            ("limit=many", 1001),
            ("cursor=abc", 1000),
            ("cursor=-1", 1000),
            ("from=yesterday", 1001),
            ("to=1.5", 1001),
            ("from=20&to=10", 1000),
        ] {
            let path = format!("{base}?{query}");
            app.v1_err(Method::GET, &path, &token, None, (422, want))
                .await;
        }
    }
    for path in ["/v1/events?agentId=nobody", "/v1/agents/nobody/events"] {
        app.v1_err(Method::GET, path, &token, None, (404, 1512))
            .await;
    }
    // An empty history.
    let data = app.v1_get("/v1/events", &token).await;
    assert_eq!(data, json!({"items": [], "nextCursor": null}));
}
