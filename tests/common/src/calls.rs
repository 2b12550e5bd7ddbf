//! Calls (`/v1/agents/{id}/call`): starting and ending them, and racing requests at once.

use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::{Http, code};

/// The path of an agent's call, with an optional query (`"force=true"`, `"outcome=missed"`).
pub fn call_path(agent_id: &str, query: &str) -> String {
    match query {
        "" => format!("/v1/agents/{agent_id}/call"),
        query => format!("/v1/agents/{agent_id}/call?{query}"),
    }
}

impl Http {
    /// Starts a call through /v1 (HTTP 201); returns it.
    pub async fn start_call(&self, token: &str, agent_id: &str, body: Value) -> Value {
        let path = call_path(agent_id, "");
        self.v1_ok(Method::POST, &path, token, Some(body), 201)
            .await
    }

    /// Ends the agent's call through /v1 with this query (HTTP 200); returns it.
    pub async fn end_call(&self, token: &str, agent_id: &str, query: &str) -> Value {
        let path = call_path(agent_id, query);
        self.v1_ok(Method::DELETE, &path, token, None, 200).await
    }

    /// Sends every /v1 call (method, path, body) at once; answers (HTTP status, envelope
    /// code, 0 for success) in the calls' order.
    pub async fn v1_race(
        &self,
        token: &str,
        calls: Vec<(Method, String, Option<Value>)>,
    ) -> Vec<(u16, u64)> {
        let mut set = JoinSet::new();
        for (i, (method, path, body)) in calls.into_iter().enumerate() {
            let req = self
                .client
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(token);
            let req = match body {
                Some(body) => req.body(body.to_string()),
                None => req,
            };
            set.spawn(async move {
                let res = req.send().await.expect("the server answers");
                let status = res.status().as_u16();
                let answer: Value = res.json().await.unwrap();
                (i, (status, code(&answer)))
            });
        }
        let mut outcomes = vec![(0, 0); set.len()];
        while let Some(joined) = set.join_next().await {
            let (i, outcome) = joined.unwrap();
            outcomes[i] = outcome;
        }
        outcomes
    }
}
