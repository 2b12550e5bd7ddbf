//! The upstream surface (agentProfile v2): its routes and prefixes, calls, and answers checked
//! byte for byte.

use reqwest::Method;
use serde_json::Value;

use crate::{Http, JSON_UTF8, code};

pub const PREFIX: &str = "/api/v2/agentProfile";
/// Both prefixes the upstream routes are served under.
pub const PREFIXES: [&str; 2] = [PREFIX, "/deepcall/api/v2/agentProfile"];
/// Every upstream route.
pub const UPSTREAM_ROUTES: [&str; 8] = [
    "agentOnBreak",
    "setWebPingTime",
    "wrapUp",
    "checkAgentInWrapUp",
    "startBreak",
    "endBreak",
    "endWrapUp",
    "tags",
];

impl Http {
    /// POSTs a raw body (no Content-Type) to an upstream route; returns the HTTP status and body.
    pub async fn post_raw(&self, route: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        self.post_raw_at(PREFIX, route, body).await
    }

    /// `post_raw` under another prefix (such as `/deepcall/api/v2/agentProfile`).
    pub async fn post_raw_at(
        &self,
        prefix: &str,
        route: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, String) {
        let res = self
            .client
            .post(format!("{}{prefix}/{route}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// POSTs a JSON value as the body and parses the answer, which must be HTTP 200 JSON.
    pub async fn call(&self, route: &str, body: Value) -> Value {
        self.call_at(PREFIX, route, body).await
    }

    /// `call` under another prefix (such as `/deepcall/api/v2/agentProfile`).
    pub async fn call_at(&self, prefix: &str, route: &str, body: Value) -> Value {
        let (status, text) = self.post_raw_at(prefix, route, body.to_string()).await;
        assert_eq!(status, 200, "{route} {body} answered HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }

    /// The envelope code a call answers (0 for a success); the call must be HTTP 200 JSON.
    pub async fn call_code(&self, route: &str, body: Value) -> u64 {
        code(&self.call(route, body).await)
    }

    /// A call that must succeed; returns its `data`.
    pub async fn call_ok(&self, route: &str, body: Value) -> Value {
        let answer = self.call(route, body.clone()).await;
        assert_eq!(code(&answer), 0, "{route} {body}: {answer}");
        answer["data"].clone()
    }
}

/// POSTs a raw body to an upstream route and checks the answer byte for byte: this HTTP
/// status, the JSON content type, exactly `expected`.
pub async fn expect_raw(app: &Http, route: &str, body: &str, status: u16, expected: &str) {
    let path = format!("{PREFIX}/{route}");
    let (got_status, content_type, text) = app
        .send(Method::POST, &path, None, Some(body.to_owned()))
        .await;
    assert_eq!(
        (got_status, text.as_str()),
        (status, expected),
        "{route} {body}"
    );
    assert_eq!(content_type, JSON_UTF8, "{route} {body}");
}

/// POSTs `body` as JSON to an upstream route and expects exactly `expected` (an error
/// envelope) with HTTP 200.
pub async fn expect(app: &Http, route: &str, body: Value, expected: &str) {
    expect_raw(app, route, &body.to_string(), 200, expected).await;
}
