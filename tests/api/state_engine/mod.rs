//! The agent's own actions on the upstream surface (`startBreak`, `endBreak`, `endWrapUp`),
//! break reasons and their limits, and the wrap-up policy, on both databases.

mod breaks;
mod calls;
mod wraps;

use crate::support::{Fixture, TestApp};
use reqwest::Method;
use serde_json::Value;

/// `base` with more fields.
pub fn with(base: Value, extra: Value) -> Value {
    let mut base = base;
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// The events' kinds, in history order.
pub fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

pub async fn start_wrap(app: &TestApp, f: &Fixture, body: Value) -> Value {
    let path = format!("/v1/agents/{}/wrap-up", f.agent_id);
    app.v1_ok(Method::POST, &path, &f.token, Some(body), 201)
        .await
}

pub async fn patch_agent(app: &TestApp, f: &Fixture, body: Value) -> Value {
    let path = format!("/v1/agents/{}", f.agent_id);
    app.v1_ok(Method::PATCH, &path, &f.token, Some(body), 200)
        .await
}

pub async fn patch_account(app: &TestApp, token: &str, body: Value) -> Value {
    app.v1_ok(Method::PATCH, "/v1/account", token, Some(body), 200)
        .await
}
