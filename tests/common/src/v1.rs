//! The management API (`/v1`): calls with an account's token, and what tests read through it.

use reqwest::Method;
use serde_json::Value;

use crate::{Http, JSON_UTF8, code, envelope_of};

impl Http {
    /// A /v1 call with the account's token: the HTTP status and the body as text (always JSON).
    pub async fn v1_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| b.to_string());
        let (status, content_type, text) = self.send(method, path, Some(&auth), body).await;
        assert_eq!(content_type, JSON_UTF8, "{path}");
        (status, text)
    }

    /// A /v1 call: the HTTP status and the parsed answer.
    pub async fn v1(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.v1_raw(method.clone(), path, token, body).await;
        let answer = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: HTTP {status}, not JSON: {text}"));
        (status, answer)
    }

    /// A /v1 call that must succeed with HTTP `want`; returns its `data`.
    pub async fn v1_ok(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let (status, answer) = self.v1(method.clone(), path, token, body).await;
        assert_eq!(status, want, "{method} {path}: {answer}");
        assert_eq!(answer["status"], "success", "{answer}");
        answer["data"].clone()
    }

    /// A /v1 GET that must succeed with HTTP 200; returns its `data`.
    pub async fn v1_get(&self, path: &str, token: &str) -> Value {
        self.v1_ok(Method::GET, path, token, None, 200).await
    }

    /// A /v1 call that must fail with exactly this (HTTP status, code) and its envelope.
    pub async fn v1_err(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: (u16, u16),
    ) {
        let (status, text) = self.v1_raw(method.clone(), path, token, body.clone()).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (status, code(&answer) as u16),
            want,
            "{method} {path} {body:?}: {text}"
        );
        match envelope_of(want.1) {
            Some(expected) => assert_eq!(text, expected, "{method} {path}"),
            None => assert!(
                answer["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Missing required parameters:"),
                "{text}"
            ),
        }
    }

    /// Each of these /v1 calls (method, path, body) must fail as `v1_err` checks: exactly `want`.
    pub async fn v1_errs(
        &self,
        token: &str,
        calls: Vec<(Method, &str, Option<Value>)>,
        want: (u16, u16),
    ) {
        for (method, path, body) in calls {
            self.v1_err(method, path, token, body, want).await;
        }
    }

    /// GETs `base?query` for each (query, code): each refused with HTTP 422 and that code.
    pub async fn v1_bad_queries(&self, base: &str, token: &str, queries: &[(&str, u16)]) {
        for (query, code) in queries {
            let path = format!("{base}?{query}");
            self.v1_err(Method::GET, &path, token, None, (422, *code))
                .await;
        }
    }

    /// Creates an API token through /v1 (HTTP 201); returns it.
    pub async fn create_token(&self, token: &str, body: Value) -> Value {
        self.v1_ok(Method::POST, "/v1/tokens", token, Some(body), 201)
            .await
    }

    /// Revokes API token `id` through /v1 (HTTP 200); returns it.
    pub async fn revoke_token(&self, token: &str, id: i64) -> Value {
        let path = format!("/v1/tokens/{id}");
        self.v1_ok(Method::DELETE, &path, token, None, 200).await
    }

    /// Creates an agent through /v1 (HTTP 201); returns it.
    pub async fn create_agent(&self, token: &str, body: Value) -> Value {
        self.v1_ok(Method::POST, "/v1/agents", token, Some(body), 201)
            .await
    }

    /// Creates a break reason through /v1 (HTTP 201); returns it.
    pub async fn create_reason(&self, token: &str, body: Value) -> Value {
        let path = "/v1/break-reasons";
        self.v1_ok(Method::POST, path, token, Some(body), 201).await
    }

    /// Logs the agent in through /v1; returns the ssid.
    pub async fn login(&self, token: &str, agent_id: &str) -> String {
        let path = format!("/v1/agents/{agent_id}/sessions");
        let data = self.v1_ok(Method::POST, &path, token, None, 201).await;
        data["ssid"].as_str().unwrap().to_owned()
    }

    /// The events of one history query that must fit in one page.
    pub async fn events(&self, token: &str, path: &str) -> Vec<Value> {
        let data = self.v1_get(path, token).await;
        assert_eq!(data["nextCursor"], Value::Null, "{path}: {data}");
        data["items"].as_array().unwrap().clone()
    }

    /// The agent's whole history, oldest first.
    pub async fn history(&self, token: &str, agent_id: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/v1/agents/{agent_id}/events?limit=500{cursor}");
            let data = self.v1_get(&path, token).await;
            all.extend(data["items"].as_array().unwrap().iter().cloned());
            match data["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return all,
            }
        }
    }

    /// The account's roster.
    pub async fn roster(&self, token: &str) -> Vec<Value> {
        let data = self.v1_get("/v1/roster", token).await;
        data.as_array().unwrap().clone()
    }

    /// The roster entry of one agent.
    pub async fn roster_entry(&self, token: &str, agent_id: &str) -> Value {
        let roster = self.roster(token).await;
        roster
            .iter()
            .find(|e| e["agentId"] == agent_id)
            .unwrap_or_else(|| panic!("agent {agent_id} not in roster {roster:?}"))
            .clone()
    }
}
