//! `/v1/tokens` and token scopes: `read` < `supervise` < `admin`, enforced on every `/v1`
//! route (from the OpenAPI description, so a new route cannot be missed) and on the upstream
//! routes that change something; expiry, last use, listing without secrets, revocation.

use std::time::Duration;

use crate::support::Scope;
use crate::support::scope_of;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{OUT_OF_SCOPE, TestApp, code, envelope_of, near_now, sql_exec};

on_both_databases! {
    every_route_refuses_a_token_below_its_scope,
    a_read_token_reads_but_cannot_change_or_create_tokens,
    a_supervise_token_runs_the_floor_but_not_the_account,
    tokens_are_listed_without_secrets_and_revoked_at_once,
    a_token_cannot_revoke_itself_but_its_successor_can,
    an_expired_token_is_refused_and_last_use_is_noted,
    tokens_from_before_scopes_keep_full_rights,
}

/// A new token of this scope, made with an admin token.
async fn token_of(app: &TestApp, admin: &str, scope: &str) -> String {
    let data = app
        .create_token(
            admin,
            json!({ "scope": scope, "label": format!("{scope} token") }),
        )
        .await;
    assert_eq!(data["scope"], scope, "{data}");
    data["token"].as_str().unwrap().to_owned()
}

/// How many tokens the account of `token` lists.
async fn tokens_listed(app: &TestApp, token: &str) -> usize {
    let list = app.v1_get("/v1/tokens", token).await;
    list.as_array().unwrap().len()
}

fn method_of(name: &str) -> Method {
    Method::from_bytes(name.to_uppercase().as_bytes()).unwrap()
}

async fn every_route_refuses_a_token_below_its_scope(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let read = token_of(&app, &f.token, "read").await;
    let supervise = token_of(&app, &f.token, "supervise").await;
    let spec: Value = serde_json::from_str(&app.get("/openapi.json").await.1).unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/") {
            continue;
        }
        for (method, _) in item.as_object().unwrap() {
            let method = method_of(method);
            let needed = scope_of(&method, path);
            let url = path
                .replace("{agent_id}", &f.agent_id)
                .replace("{code}", "break")
                .replace("{token_id}", "1");
            for (token, scope) in [(&read, Scope::Read), (&supervise, Scope::Supervise)] {
                if path == "/v1/stream" {
                    continue; // never ends; any scope may read it (stream.rs tests it)
                }
                let (status, text) = app
                    .v1_raw(method.clone(), &url, token, Some(json!({})))
                    .await;
                if scope < needed {
                    assert_eq!(
                        (status, text.as_str()),
                        (403, OUT_OF_SCOPE.as_str()),
                        "{method} {path} with {scope}"
                    );
                    checked += 1;
                } else {
                    assert_ne!(text, OUT_OF_SCOPE.as_str(), "{method} {path} with {scope}");
                }
            }
        }
    }
    // Agents, reasons, account, tokens (admin) and the floor's changes (supervise).
    assert!(checked >= 20, "{checked} refusals checked");
    // What is refused changed nothing: the agent is still there, not on break, enabled.
    let agent = app
        .v1_get(&format!("/v1/agents/{}", f.agent_id), &f.token)
        .await;
    assert_eq!(agent["disabled"], false, "{agent}");
    assert_eq!(app.roster_entry(&f.token, "7").await["state"], "available");
}

async fn a_read_token_reads_but_cannot_change_or_create_tokens(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let read = token_of(&app, &f.token, "read").await;
    // Reads, on both surfaces.
    assert_eq!(app.roster(&read).await.len(), 1);
    app.v1_get("/v1/events", &read).await;
    let by_read = json!({ "userId": "acme", "token": read, "agentId": "7" });
    assert_eq!(app.call_code("agentOnBreak", by_read.clone()).await, 1502);
    assert_eq!(
        app.call_code("checkAgentInWrapUp", by_read.clone()).await,
        1504
    );
    // A stream ticket is a read.
    app.v1_ok(Method::POST, "/v1/stream/tickets", &read, None, 201)
        .await;
    // No break, no heartbeat, no token: upstream answers 1516 with HTTP 200, as its errors.
    let mut start = by_read.clone();
    start["reason"] = json!("break");
    let (status, text) = app.post_raw("startBreak", start.to_string()).await;
    assert_eq!((status, text.as_str()), (200, OUT_OF_SCOPE.as_str()));
    let mut ping = by_read.clone();
    ping["mic_perm"] = json!("granted");
    let (status, text) = app.post_raw("setWebPingTime", ping.to_string()).await;
    assert_eq!((status, text.as_str()), (200, OUT_OF_SCOPE.as_str()));
    let refused = vec![
        (
            Method::POST,
            "/v1/agents/7/break",
            Some(json!({"reason": "break"})),
        ),
        (Method::POST, "/v1/tokens", Some(json!({"scope": "read"}))),
    ];
    app.v1_errs(&read, refused, (403, 1516)).await;
    assert_eq!(app.roster_entry(&f.token, "7").await["state"], "available");
    assert_eq!(tokens_listed(&app, &f.token).await, 2);
}

async fn a_supervise_token_runs_the_floor_but_not_the_account(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let supervise = token_of(&app, &f.token, "supervise").await;
    let path = "/v1/agents/7/break";
    let body = Some(json!({"reason": "break"}));
    app.v1_ok(Method::POST, path, &supervise, body, 201).await;
    let by = json!({ "userId": "acme", "token": supervise, "agentId": "7" });
    assert_eq!(app.call_code("endBreak", by.clone()).await, 0);
    let mut ping = by.clone();
    ping["mic_perm"] = json!(1);
    assert_eq!(app.call_code("setWebPingTime", ping).await, 0);
    app.v1_ok(Method::POST, "/v1/agents/7/disable", &supervise, None, 200)
        .await;
    app.v1_ok(Method::POST, "/v1/agents/7/enable", &supervise, None, 200)
        .await;
    let refused = vec![
        (Method::POST, "/v1/agents", Some(json!({"agentId": "8"}))),
        (
            Method::PATCH,
            "/v1/account",
            Some(json!({"wrapSeconds": 5})),
        ),
        (Method::GET, "/v1/tokens", None),
    ];
    app.v1_errs(&supervise, refused, (403, 1516)).await;
    // The history names the supervise token for what it did.
    let actor = app.token_actor(&supervise).await;
    let history = app.history(&f.token, "7").await;
    assert!(
        history
            .iter()
            .any(|e| e["kind"] == "break.start" && e["actor"] == actor.as_str()),
        "{history:?}"
    );
}

async fn tokens_are_listed_without_secrets_and_revoked_at_once(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let other = app.new_account("globex").await;
    let created = app
        .create_token(
            &f.token,
            json!({"scope": "read", "label": "wallboard", "expiresIn": 3600}),
        )
        .await;
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("apt_"), "{created}");
    assert_eq!(created["label"], "wallboard");
    let expires = created["expiresAt"].as_i64().unwrap() - created["createdAt"].as_i64().unwrap();
    assert_eq!(expires, 3600, "{created}");
    let id = created["id"].as_i64().unwrap();

    // Listed newest first, never with the token or its hash.
    let list = app.v1_get("/v1/tokens", &f.token).await;
    let text = list.to_string();
    assert!(!text.contains(&secret[4..]), "{text}");
    assert!(!text.contains("hash"), "{text}");
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[1]["scope"], "admin");
    assert!(items.iter().all(|t| t.get("token").is_none()), "{text}");
    // Another account sees only its own, and cannot revoke ours.
    assert_eq!(tokens_listed(&app, &other).await, 1);
    let ours = format!("/v1/tokens/{id}");
    app.v1_err(Method::DELETE, &ours, &other, None, (404, 1512))
        .await;
    let path = "/v1/tokens/not-a-number";
    app.v1_err(Method::DELETE, path, &f.token, None, (404, 1512))
        .await;

    // Bad requests change nothing.
    for bad in [
        json!({"scope": "root"}),
        json!({"expiresIn": 0}),
        json!({"label": "x".repeat(201)}),
    ] {
        let (status, answer) = app
            .v1(Method::POST, "/v1/tokens", &f.token, Some(bad.clone()))
            .await;
        assert_eq!(status, 422, "{bad}: {answer}");
    }
    assert_eq!(tokens_listed(&app, &f.token).await, 2);

    // Works until revoked; then refused at once (1014), and its tickets with it.
    assert_eq!(app.roster(&secret).await.len(), 1);
    let ticket = app
        .v1_ok(Method::POST, "/v1/stream/tickets", &secret, None, 201)
        .await["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app.revoke_token(&f.token, id).await;
    assert!(near_now(&revoked["revokedAt"]), "{revoked}");
    app.v1_err(Method::GET, "/v1/roster", &secret, None, (401, 1014))
        .await;
    let by = json!({ "userId": "acme", "token": secret, "agentId": "7" });
    assert_eq!(app.call_code("agentOnBreak", by).await, 1014);
    let res = app
        .get_response(&format!("/v1/stream?ticket={ticket}"))
        .await;
    assert_eq!(res.status(), 401);
    // Revoking again keeps the first time.
    let again = app.revoke_token(&f.token, id).await;
    assert_eq!(again["revokedAt"], revoked["revokedAt"]);
}

/// Revoking the token the request is made with is refused (409, 1521) and changes nothing;
/// a rotation creates the new token, then revokes the old one with it.
async fn a_token_cannot_revoke_itself_but_its_successor_can(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let list = app.v1_get("/v1/tokens", &f.token).await;
    let own = list.as_array().unwrap()[0]["id"].as_i64().unwrap();
    let own_path = format!("/v1/tokens/{own}");
    let (status, text) = app.v1_raw(Method::DELETE, &own_path, &f.token, None).await;
    assert_eq!(
        (status, text.as_str()),
        (409, envelope_of(1521).unwrap()),
        "{text}"
    );
    assert!(text.contains("Cannot revoke the token in use"), "{text}");
    // Nothing changed: it still works and is not revoked.
    let list = app.v1_get("/v1/tokens", &f.token).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["revokedAt"], Value::Null, "{list}");

    // The rotation: a new admin token revokes the old one, which stops working at once.
    let new = token_of(&app, &f.token, "admin").await;
    let revoked = app.revoke_token(&new, own).await;
    assert!(near_now(&revoked["revokedAt"]), "{revoked}");
    app.v1_err(Method::GET, "/v1/tokens", &f.token, None, (401, 1014))
        .await;
    // Revoking the old one again still changes nothing; the new one cannot revoke itself.
    let again = app.revoke_token(&new, own).await;
    assert_eq!(again["revokedAt"], revoked["revokedAt"]);
    let list = app.v1_get("/v1/tokens", &new).await;
    let new_id = list[0]["id"].as_i64().unwrap();
    assert_ne!(new_id, own);
    let path = format!("/v1/tokens/{new_id}");
    app.v1_err(Method::DELETE, &path, &new, None, (409, 1521))
        .await;
    assert_eq!(
        app.v1_get("/v1/tokens", &new).await[0]["revokedAt"],
        Value::Null
    );
}

async fn an_expired_token_is_refused_and_last_use_is_noted(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let short = app
        .create_token(&f.token, json!({"scope": "read", "expiresIn": 1}))
        .await;
    let secret = short["token"].as_str().unwrap();
    assert_eq!(short["lastUsedAt"], Value::Null);
    app.v1_get("/v1/roster", secret).await;
    // The last use is written off the request's path: wait for it.
    let mut noted = Value::Null;
    for _ in 0..50 {
        let list = app.v1_get("/v1/tokens", &f.token).await;
        noted = list[0]["lastUsedAt"].clone();
        if !noted.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(near_now(&noted), "lastUsedAt {noted}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    app.v1_err(Method::GET, "/v1/roster", secret, None, (401, 1014))
        .await;
}

async fn tokens_from_before_scopes_keep_full_rights(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    // A token row as the schema before scopes wrote it: no scope, no expiry.
    let secret = "apt_from_before_scopes";
    let hash = crate::support::hash(secret);
    sql_exec(
        app.db.as_ref().unwrap(),
        &format!(
            "INSERT INTO api_tokens (account_pk, token_hash, created_at)
             SELECT id, '{hash}', 1 FROM accounts WHERE user_id = 'acme'"
        ),
    )
    .await;
    let listed = app.v1_get("/v1/tokens", &f.token).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["scope"] == "admin" && t["expiresAt"].is_null()),
        "{listed}"
    );
    app.create_agent(secret, json!({"agentId": "8"})).await;
    let by = json!({ "userId": "acme", "token": secret, "agentId": "8", "reason": "break" });
    let answer = app.call("startBreak", by).await;
    assert_eq!(code(&answer), 0, "{answer}");
}
