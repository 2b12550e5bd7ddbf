//! Webhooks: the endpoints' API (validation, scope, SSRF refusals, accounts apart), the
//! delivery to a local receiver that verifies every signature and fails or hangs at random
//! (everything delivered, in order, a slow endpoint holding up no other), rotation, retries
//! that disable an endpoint, replay; and on PostgreSQL the deliverer killed mid-stream.

mod crud;
mod delivery;
mod log;
mod takeover;
mod throughput;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

/// A server that may deliver to 127.0.0.1 over http, with a short timeout and fast retries.
pub fn local_delivery(config: &mut Config) {
    config.webhook_allow_http = true;
    config.webhook_allow_private = true;
    config.webhook_timeout_secs = 1;
    config.webhook_retry_base_ms = 20;
    config.webhook_max_attempts = 40;
}

/// `n` `mic.change` events of the account's first agent written straight into the history
/// (what is measured is their delivery, not how they were made).
pub async fn insert_events(app: &TestApp, backend: Backend, n: i64) {
    let series = match backend {
        Backend::Postgres => format!("generate_series(1, {n})"),
        Backend::Sqlite => format!(
            "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) \
             SELECT i FROM s)"
        ),
    };
    let insert = format!(
        "INSERT INTO events (account_pk, agent_pk, kind, actor, at, details)
         SELECT (SELECT id FROM accounts LIMIT 1), (SELECT id FROM agents LIMIT 1),
                'mic.change', 'cli', 1796042602, '{{\"micPerm\":\"granted\"}}' FROM {series} AS x"
    );
    sql_exec(app.db.as_ref().unwrap(), &insert).await;
}

/// Registers an endpoint for `url` hearing `events` (None: every event): its data, with the
/// secret.
pub async fn register(http: &Http, token: &str, url: &str, events: Option<Value>) -> Value {
    let mut body = json!({ "url": url });
    if let Some(events) = events {
        body["events"] = events;
    }
    http.v1_ok(Method::POST, "/v1/webhooks", token, Some(body), 201)
        .await
}

/// `n` breaks started and ended for agent 7 of `acme` (2n events); answers the account's
/// event ids after `after`, in order.
pub async fn breaks(app: &TestApp, n: usize) {
    for _ in 0..n {
        app.admin().start_break("acme", "7", "break").await.unwrap();
        app.admin().end_break("acme", "7").await.unwrap();
    }
}

/// The ids of the account's events of these kinds (all with None), oldest first.
pub async fn event_ids(http: &Http, token: &str, kinds: Option<&[&str]>) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = http
            .v1_get(&format!("/v1/events?limit=500&cursor={cursor}"), token)
            .await;
        for event in page["items"].as_array().unwrap() {
            let kind = event["kind"].as_str().unwrap();
            if kinds.is_none_or(|k| k.contains(&kind)) {
                ids.push(event["id"].as_i64().unwrap());
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return ids,
        }
    }
}

/// Waits for `check` to hold, for at most `within`.
pub async fn eventually(within: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = std::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
