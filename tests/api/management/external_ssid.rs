//! `/v1`: sessions from an existing login. The login service registers the ssid its frontend
//! already holds (`POST /v1/agents/{id}/sessions {"ssid": …}`); it then works on every
//! upstream route exactly as one of ours, expires by the same rules, and is never registered
//! twice (409 whoever holds it, also when two registrations race).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::cli::cli;
use crate::support::{
    ALREADY_EXISTS, Backend, INVALID_DATA_TYPE, INVALID_PARAMETERS, OUT_OF_SCOPE, TestApp, now_unix,
};

on_both_databases! {
    a_registered_ssid_works_upstream_and_logs_out, a_registered_ssid_is_registered_once,
    malformed_ssids_are_refused, racing_registrations_make_one_session,
    registering_takes_a_supervise_token, the_cli_registers_an_ssid,
}

on_both_databases_with_own_config!(a_registered_ssid_expires_when_idle);

// ---------------------------------------------------------------- helpers

/// An ssid as another login service might issue it: 43 base64url characters (`tag` keeps
/// the test's ssids apart).
fn external(tag: &str) -> String {
    let body = format!("ext-{tag}_");
    format!("{body}{}", "Ab9-_z".repeat(8))[..43].to_owned()
}

fn sessions_of(agent_id: &str) -> String {
    format!("/v1/agents/{agent_id}/sessions")
}

/// Registers `ssid` for the agent: the HTTP status and the raw answer.
async fn register(app: &TestApp, token: &str, agent_id: &str, ssid: &Value) -> (u16, String) {
    let body = Some(json!({ "ssid": ssid }));
    let path = sessions_of(agent_id);
    app.v1_raw(Method::POST, &path, token, body).await
}

/// Registers `ssid` for the agent, which must answer 201; returns the answer's `data`.
async fn registered(app: &TestApp, token: &str, agent_id: &str, ssid: &str) -> Value {
    let body = Some(json!({ "ssid": ssid }));
    let path = sessions_of(agent_id);
    app.v1_ok(Method::POST, &path, token, body, 201).await
}

/// Each upstream route with a body naming `ssid`, and the code it answers, in this order,
/// for a live session of an agent neither on break nor in wrap-up (0: success). A new
/// route is one more line.
fn upstream_calls(ssid: &str) -> Vec<(&'static str, Value, u64)> {
    vec![
        ("agentOnBreak", json!({ "ssid": ssid }), 1502),
        (
            "setWebPingTime",
            json!({"ssid": ssid, "mic_perm": "granted"}),
            0,
        ),
        ("wrapUp", json!({ "ssid": ssid }), 1504),
        ("checkAgentInWrapUp", json!({ "ssid": ssid }), 1504),
        ("startBreak", json!({"ssid": ssid, "reason": "lunch"}), 0),
        ("endBreak", json!({ "ssid": ssid }), 0),
        ("tags", json!({ "ssid": ssid }), 0),
    ]
}

/// What each upstream route answers for an ssid that no longer works.
fn dead_code(route: &str) -> u64 {
    match route {
        "setWebPingTime" => 1503,
        _ => 1000,
    }
}

async fn expect_live(app: &TestApp, ssid: &str) {
    for (route, body, want) in upstream_calls(ssid) {
        assert_eq!(
            app.call_code(route, body.clone()).await,
            want,
            "{route} {body}"
        );
    }
}

async fn expect_dead(app: &TestApp, ssid: &str) {
    for (route, body, _) in upstream_calls(ssid) {
        let want = dead_code(route);
        assert_eq!(
            app.call_code(route, body.clone()).await,
            want,
            "{route} {body}"
        );
    }
}

// ---------------------------------------------------------------- tests

async fn a_registered_ssid_works_upstream_and_logs_out(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ssid = external("works");
    let data = registered(&app, &token, "7", &ssid).await;
    // The same answer as a minted login: the ssid (echoed) and when it expires.
    let max_age = app.config.session_max_age_secs;
    assert_eq!(data["ssid"], ssid.as_str());
    let expires_at = data["expiresAt"].as_i64().unwrap();
    assert!((expires_at - now_unix() - max_age).abs() <= 2, "{data}");
    assert_eq!(data.as_object().unwrap().len(), 2, "{data}");
    // Only the hash is kept.
    assert_eq!(app.session_pk(&ssid).await, 1);

    expect_live(&app, &ssid).await;
    let entry = app.roster_entry(&token, "7").await;
    assert_eq!(entry["loggedIn"], true, "{entry}");

    // A minted login beside it stays as it was: its event does not say `registered`.
    let minted = app.login(&token, "7").await;
    let logins: Vec<Value> = app
        .history(&token, "7")
        .await
        .into_iter()
        .filter(|e| e["kind"] == "login")
        .map(|e| e["details"].clone())
        .collect();
    let session = app.session_pk(&minted).await;
    assert_eq!(
        logins,
        vec![
            json!({"session": 1, "expiresAt": expires_at, "registered": true}),
            json!({"session": session, "expiresAt": logins[1]["expiresAt"]}),
        ]
    );

    // Logout by the ssid, as the login service does when the agent logs out there.
    let body = Some(json!({ "ssid": ssid }));
    let path = "/v1/sessions/logout";
    let data = app.v1_ok(Method::POST, path, &token, body, 200).await;
    assert_eq!(data, json!({"loggedOut": 1}));
    expect_dead(&app, &ssid).await;
    // The minted one is another session: still live.
    assert_eq!(
        app.call_code("wrapUp", json!({ "ssid": minted })).await,
        1504
    );
}

async fn a_registered_ssid_is_registered_once(app: TestApp) {
    let acme = app.new_account("acme").await;
    let globex = app.new_account("globex").await;
    for agent_id in ["7", "8"] {
        app.create_agent(&acme, json!({ "agentId": agent_id }))
            .await;
    }
    app.create_agent(&globex, json!({"agentId": "7"})).await;
    let ssid = external("once");
    registered(&app, &acme, "7", &ssid).await;

    // Taken: the same answer whoever asks, for whichever agent.
    let taken = |token: &str, agent_id: &str| {
        let path = sessions_of(agent_id);
        let body = Some(json!({ "ssid": ssid }));
        (Method::POST, token.to_owned(), path, body)
    };
    let attempts = [taken(&acme, "7"), taken(&acme, "8"), taken(&globex, "7")];
    for (method, token, path, body) in attempts.clone() {
        app.v1_err(method, &path, &token, body, (409, 1513)).await;
    }
    // Ended, it stays taken; so is an ssid we minted.
    let path = "/v1/agents/7/sessions";
    app.v1_ok(Method::DELETE, path, &acme, None, 200).await;
    for (method, token, path, body) in attempts {
        app.v1_err(method, &path, &token, body, (409, 1513)).await;
    }
    let minted = app.login(&globex, "7").await;
    let (status, text) = register(&app, &acme, "8", &json!(minted)).await;
    assert_eq!((status, text.as_str()), (409, ALREADY_EXISTS.as_str()));
    // And the refusals changed nothing: the minted session lives, nothing was recorded.
    assert_eq!(
        app.call_code("wrapUp", json!({ "ssid": minted })).await,
        1504
    );
    let logins = |events: Vec<Value>| events.iter().filter(|e| e["kind"] == "login").count();
    assert_eq!(logins(app.history(&acme, "7").await), 1);
    assert_eq!(logins(app.history(&acme, "8").await), 0);
    assert_eq!(logins(app.history(&globex, "7").await), 1);

    // An unknown agent is 404 before anything else; a disabled one is 1510.
    let fresh = json!(external("fresh"));
    let (status, _) = register(&app, &acme, "nobody", &fresh).await;
    assert_eq!(status, 404);
    app.v1_ok(Method::POST, "/v1/agents/8/disable", &acme, None, 200)
        .await;
    let (status, _) = register(&app, &acme, "8", &fresh).await;
    assert_eq!(status, 409);
    registered(&app, &acme, "7", fresh.as_str().unwrap()).await;
}

async fn malformed_ssids_are_refused(app: TestApp) {
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ok = "a".repeat(32);
    for bad in [
        String::new(),
        "a".repeat(31),
        "a".repeat(257),
        format!("{}!", &ok[1..]),
        format!("{} ", &ok[1..]),
        format!("{}=", &ok[1..]),
        format!("{}.", &ok[1..]),
        format!("{}/", &ok[1..]),
        "é".repeat(32),
        format!("{ok}\n"),
    ] {
        let (status, text) = register(&app, &token, "7", &json!(bad)).await;
        assert_eq!(
            (status, text.as_str()),
            (422, INVALID_PARAMETERS.as_str()),
            "{bad:?}"
        );
    }
    for bad in [json!(5), json!(["x"]), json!({"ssid": ok}), json!(true)] {
        let (status, text) = register(&app, &token, "7", &bad).await;
        assert_eq!(
            (status, text.as_str()),
            (422, INVALID_DATA_TYPE.as_str()),
            "{bad}"
        );
    }
    // Nothing was recorded.
    assert!(app.history(&token, "7").await.is_empty());
    // The bounds are allowed, and every character of the set; `null` or no body mints.
    let all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    for good in [ok.clone(), "Z".repeat(256), all.to_owned()] {
        let data = registered(&app, &token, "7", &good).await;
        assert_eq!(data["ssid"], good.as_str());
        assert_eq!(app.call_code("wrapUp", json!({ "ssid": good })).await, 1504);
    }
    let path = sessions_of("7");
    for body in [None, Some(json!({})), Some(json!({"ssid": null}))] {
        let data = app.v1_ok(Method::POST, &path, &token, body, 201).await;
        assert_eq!(data["ssid"].as_str().unwrap().len(), 64, "{data}");
    }
}

async fn racing_registrations_make_one_session(app: TestApp) {
    let token = app.new_account("acme").await;
    for agent_id in ["7", "8"] {
        app.create_agent(&token, json!({ "agentId": agent_id }))
            .await;
    }
    for round in 0..3 {
        let ssid = external(&format!("race{round}"));
        let mut set = JoinSet::new();
        for i in 0..12 {
            let (client, base, token) = (app.client.clone(), app.base.clone(), token.clone());
            let url = format!("{base}{}", sessions_of(["7", "8"][i % 2]));
            let body = json!({ "ssid": ssid }).to_string();
            set.spawn(async move {
                let res = client.post(url).bearer_auth(token).body(body).send().await;
                let res = res.unwrap();
                (res.status().as_u16(), res.text().await.unwrap())
            });
        }
        let answers = set.join_all().await;
        let created = answers.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(created, 1, "{answers:?}");
        for (status, text) in answers.iter().filter(|(s, _)| *s != 201) {
            assert_eq!((*status, text.as_str()), (409, ALREADY_EXISTS.as_str()));
        }
        assert_eq!(app.call_code("wrapUp", json!({ "ssid": ssid })).await, 1504);
    }
    let logins = |events: Vec<Value>| events.iter().filter(|e| e["kind"] == "login").count();
    let both = logins(app.history(&token, "7").await) + logins(app.history(&token, "8").await);
    assert_eq!(both, 3);
}

async fn registering_takes_a_supervise_token(app: TestApp) {
    let admin = app.new_account("acme").await;
    app.create_agent(&admin, json!({"agentId": "7"})).await;
    let secret = |data: Value| data["token"].as_str().unwrap().to_owned();
    let read = secret(app.create_token(&admin, json!({"scope": "read"})).await);
    let supervise = secret(
        app.create_token(&admin, json!({"scope": "supervise"}))
            .await,
    );
    let ssid = external("scope");
    let (status, text) = register(&app, &read, "7", &json!(ssid)).await;
    assert_eq!((status, text.as_str()), (403, OUT_OF_SCOPE.as_str()));
    assert_eq!(app.call_code("wrapUp", json!({ "ssid": ssid })).await, 1000);
    // The login hook: register with a supervise token, log out with it.
    registered(&app, &supervise, "7", &ssid).await;
    let body = Some(json!({ "ssid": ssid }));
    let logout = "/v1/sessions/logout";
    app.v1_ok(Method::POST, logout, &supervise, body, 200).await;
    assert_eq!(app.call_code("wrapUp", json!({ "ssid": ssid })).await, 1000);
}

async fn the_cli_registers_an_ssid(app: TestApp) {
    app.admin().create_account("acme", "").await.unwrap();
    let token = app.admin().create_token("acme").await.unwrap();
    cli(&app, &["agent", "create", "acme", "7"]).await.ok();
    let ssid = external("cli");
    let args = ["session", "create", "acme", "7", "--ssid", ssid.as_str()];
    assert_eq!(cli(&app, &args).await.line(), ssid);
    expect_live(&app, &ssid).await;
    let details = &app.history(&token, "7").await[0]["details"];
    assert_eq!(details["registered"], true, "{details}");
    cli(&app, &args).await.refused("ssid already exists");
    let short = ["session", "create", "acme", "7", "--ssid", "short"];
    cli(&app, &short)
        .await
        .refused("ssid must be 32 to 256 characters");
}

async fn a_registered_ssid_expires_when_idle(backend: Backend) {
    // Times are whole Unix seconds: with 2 s the session is surely alive for the first second.
    let Some(app) = TestApp::spawn_with(backend, |c| c.session_idle_timeout_secs = 2).await else {
        return;
    };
    let token = app.new_account("acme").await;
    app.create_agent(&token, json!({"agentId": "7"})).await;
    let ssid = external("idle");
    registered(&app, &token, "7", &ssid).await;
    assert_eq!(
        app.call_code("agentOnBreak", json!({ "ssid": ssid })).await,
        1502
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    expect_dead(&app, &ssid).await;
    // Expired, it stays taken.
    let (status, _) = register(&app, &token, "7", &json!(ssid)).await;
    assert_eq!(status, 409);
}
