//! The endpoints' API: what it answers, what it refuses (and changes nothing), who may call it.

use reqwest::Method;
use serde_json::json;

use super::register;
use crate::cli::cli;
use crate::support::*;

on_both_databases! {
    an_endpoint_is_created_listed_changed_and_deleted, bad_endpoints_are_refused,
    private_and_plain_http_urls_are_refused_by_default, only_admin_tokens_manage_webhooks,
    another_accounts_endpoints_are_invisible, the_cli_adds_lists_and_removes_endpoints,
}

const HOOK: &str = "https://hooks.example.invalid/agentprofile";

async fn an_endpoint_is_created_listed_changed_and_deleted(app: TestApp) {
    let token = app.new_account("acme").await;
    let created = register(&app, &token, HOOK, Some(json!(["break.*", "call.start"]))).await;
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{created}"
    );
    assert_eq!(created["url"], HOOK);
    assert_eq!(created["events"], json!(["break.*", "call.start"]));
    assert_eq!(created["enabled"], true);
    let id = created["id"].as_i64().unwrap();
    let path = format!("/v1/webhooks/{id}");

    let listed = app.v1_get("/v1/webhooks", &token).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once: {listed}"
    );
    assert_eq!(app.v1_get(&path, &token).await["id"], id);

    let patch = json!({"events": ["login"], "enabled": false, "description": "CRM",
                       "url": "https://other.example.invalid/x"});
    let changed = app
        .v1_ok(Method::PATCH, &path, &token, Some(patch), 200)
        .await;
    assert_eq!(changed["events"], json!(["login"]));
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["description"], "CRM");
    assert_eq!(changed["url"], "https://other.example.invalid/x");

    let rotated = app
        .v1_ok(Method::POST, &format!("{path}/rotate"), &token, None, 200)
        .await;
    assert_ne!(rotated["secret"], created["secret"]);
    assert!(near_now(
        &(rotated["previousSecretUntil"].as_i64().unwrap() - 86_400).into()
    ));

    let deliveries = app.v1_get(&format!("{path}/deliveries"), &token).await;
    assert_eq!(deliveries, json!([]));
    let replayed = app
        .v1_ok(
            Method::POST,
            &format!("{path}/replay"),
            &token,
            Some(json!({"from": 5})),
            200,
        )
        .await;
    assert_eq!(replayed["cursor"], 4);

    app.v1_ok(Method::DELETE, &path, &token, None, 200).await;
    app.v1_err(Method::GET, &path, &token, None, (404, 1512))
        .await;
    app.v1_err(Method::DELETE, &path, &token, None, (404, 1512))
        .await;
    assert_eq!(app.v1_get("/v1/webhooks", &token).await, json!([]));
}

async fn bad_endpoints_are_refused(app: TestApp) {
    let token = app.new_account("acme").await;
    let post = |body| (Method::POST, "/v1/webhooks", Some(body));
    app.v1_err(
        Method::POST,
        "/v1/webhooks",
        &token,
        Some(json!({})),
        (422, 1505),
    )
    .await;
    app.v1_errs(
        &token,
        vec![
            post(json!({"url": HOOK, "events": ["break"]})),
            post(json!({"url": HOOK, "events": ["nope.*"]})),
            post(json!({"url": HOOK, "events": ["break.start", ""]})),
        ],
        (422, 1532),
    )
    .await;
    app.v1_errs(
        &token,
        vec![
            post(json!({"url": "not a url"})),
            post(json!({"url": "ftp://files.example.invalid/x"})),
            post(json!({"url": "https://user:pass@hooks.example.invalid/x"})),
            post(json!({"url": format!("https://x.example.invalid/{}", "a".repeat(2100))})),
        ],
        (422, 1530),
    )
    .await;
    app.v1_err(
        Method::POST,
        "/v1/webhooks",
        &token,
        Some(json!({"url": 3})),
        (422, 1001),
    )
    .await;
    let too_many: Vec<&str> = std::iter::repeat_n("login", 51).collect();
    app.v1_err(
        Method::POST,
        "/v1/webhooks",
        &token,
        Some(json!({"url": HOOK, "events": too_many})),
        (422, 1000),
    )
    .await;
    let id = register(&app, &token, HOOK, None).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/webhooks/{id}");
    app.v1_err(
        Method::PATCH,
        &path,
        &token,
        Some(json!({"events": ["x.y"]})),
        (422, 1532),
    )
    .await;
    app.v1_err(
        Method::PATCH,
        &path,
        &token,
        Some(json!({"url": "http://a.example.invalid/"})),
        (422, 1530),
    )
    .await;
    app.v1_err(
        Method::POST,
        &format!("{path}/replay"),
        &token,
        Some(json!({"from": 0})),
        (422, 1000),
    )
    .await;
    app.v1_err(
        Method::POST,
        &format!("{path}/replay"),
        &token,
        Some(json!({})),
        (422, 1505),
    )
    .await;
    app.v1_err(Method::GET, "/v1/webhooks/abc", &token, None, (404, 1512))
        .await;
    // Nothing was changed by the refusals.
    let kept = app.v1_get(&path, &token).await;
    assert_eq!(
        (kept["url"].as_str(), kept["events"].clone()),
        (Some(HOOK), json!([]))
    );
    assert_eq!(
        app.v1_get("/v1/webhooks", &token)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn private_and_plain_http_urls_are_refused_by_default(app: TestApp) {
    let token = app.new_account("acme").await;
    for url in [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://169.254.169.254/latest",
        "https://10.0.0.7/x",
        "https://192.168.1.1:8443/x",
        "https://localhost/hook",
        "https://[::ffff:127.0.0.1]/x",
    ] {
        app.v1_err(
            Method::POST,
            "/v1/webhooks",
            &token,
            Some(json!({"url": url})),
            (422, 1531),
        )
        .await;
    }
    app.v1_err(
        Method::POST,
        "/v1/webhooks",
        &token,
        Some(json!({"url": "http://hooks.example.invalid/x"})),
        (422, 1530),
    )
    .await;
    assert_eq!(app.v1_get("/v1/webhooks", &token).await, json!([]));
}

async fn only_admin_tokens_manage_webhooks(app: TestApp) {
    let token = app.new_account("acme").await;
    let id = register(&app, &token, HOOK, None).await["id"]
        .as_i64()
        .unwrap();
    for scope in ["read", "supervise"] {
        let weaker = app.create_token(&token, json!({ "scope": scope })).await;
        let weaker = weaker["token"].as_str().unwrap();
        app.v1_errs(
            weaker,
            vec![
                (Method::GET, "/v1/webhooks", None),
                (Method::POST, "/v1/webhooks", Some(json!({"url": HOOK}))),
                (Method::GET, &format!("/v1/webhooks/{id}"), None),
                (Method::GET, &format!("/v1/webhooks/{id}/deliveries"), None),
                (
                    Method::PATCH,
                    &format!("/v1/webhooks/{id}"),
                    Some(json!({"enabled": false})),
                ),
                (Method::POST, &format!("/v1/webhooks/{id}/rotate"), None),
                (Method::POST, &format!("/v1/webhooks/{id}/test"), None),
                (Method::DELETE, &format!("/v1/webhooks/{id}"), None),
            ],
            (403, 1516),
        )
        .await;
    }
    app.v1_err(Method::GET, "/v1/webhooks", "apt_nope", None, (401, 1014))
        .await;
}

async fn another_accounts_endpoints_are_invisible(app: TestApp) {
    let acme = app.new_account("acme").await;
    let other = app.new_account("globex").await;
    let id = register(&app, &acme, HOOK, None).await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(app.v1_get("/v1/webhooks", &other).await, json!([]));
    let path = format!("/v1/webhooks/{id}");
    app.v1_errs(
        &other,
        vec![
            (Method::GET, path.as_str(), None),
            (
                Method::PATCH,
                path.as_str(),
                Some(json!({"enabled": false})),
            ),
            (Method::POST, &format!("{path}/rotate"), None),
            (Method::POST, &format!("{path}/test"), None),
            (
                Method::POST,
                &format!("{path}/replay"),
                Some(json!({"from": 1})),
            ),
            (Method::GET, &format!("{path}/deliveries"), None),
            (Method::DELETE, path.as_str(), None),
        ],
        (404, 1512),
    )
    .await;
    assert_eq!(app.v1_get(&path, &acme).await["enabled"], true);
}

async fn the_cli_adds_lists_and_removes_endpoints(app: TestApp) {
    let token = app.new_account("acme").await;
    let add = [
        "webhook", "add", "acme", HOOK, "--event", "break.*", "--event", "login",
    ];
    let secret = cli(&app, &add).await.line();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let listed = app.v1_get("/v1/webhooks", &token).await;
    assert_eq!(listed[0]["events"], json!(["break.*", "login"]));
    let id = listed[0]["id"].to_string();
    let table = cli(&app, &["webhook", "list", "acme"]).await.ok();
    assert!(
        table.contains(&format!("{id}\ttrue\t")) && table.contains(HOOK),
        "{table}"
    );
    cli(
        &app,
        &["webhook", "add", "acme", "http://hooks.example.invalid/x"],
    )
    .await
    .refused("url must be https");
    cli(&app, &["webhook", "add", "acme", HOOK, "--event", "nope"])
        .await
        .refused("\"nope\" is not an event kind or family");
    cli(&app, &["webhook", "remove", "acme", &id]).await.ok();
    cli(&app, &["webhook", "remove", "acme", &id])
        .await
        .refused(&format!("no webhook {id} in account \"acme\""));
    assert_eq!(app.v1_get("/v1/webhooks", &token).await, json!([]));
}
