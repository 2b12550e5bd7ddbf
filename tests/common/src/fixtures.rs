//! What tests set up: agents, wrap-ups, an account with a token and a session, an operator of
//! the test's own.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::{NewAgent, Operator, Service, TestDb, WrapRequest, connect, now_unix, test_config};

/// A new agent of this id, with the account's wrap-up policy.
pub fn agent(agent_id: &str) -> NewAgent {
    named(agent_id, "")
}

/// A new agent of this id and name.
pub fn named(agent_id: &str, name: &str) -> NewAgent {
    NewAgent {
        agent_id: agent_id.to_owned(),
        name: name.to_owned(),
        ..NewAgent::default()
    }
}

/// A wrap-up for this call and customer, of `seconds` (None: the policy's length).
pub fn wrap(call_id: &str, customer_number: &str, seconds: Option<i64>) -> WrapRequest {
    WrapRequest {
        call_id: call_id.to_owned(),
        customer_number: customer_number.to_owned(),
        seconds,
    }
}

/// An account with one agent, a token and a live session (`TestApp::fixture`).
pub struct Fixture {
    pub user_id: String,
    pub agent_id: String,
    pub token: String,
    pub ssid: String,
}

impl Fixture {
    /// Upstream credentials by session: `{"ssid": …}`.
    pub fn by_ssid(&self) -> Value {
        json!({ "ssid": self.ssid })
    }

    /// Upstream credentials by token, for the fixture's agent.
    pub fn by_token(&self) -> Value {
        self.by_token_for(self.agent_id.as_str())
    }

    /// Upstream credentials by token, naming this agent id (a string or an integer).
    pub fn by_token_for(&self, agent_id: impl Into<Value>) -> Value {
        json!({ "userId": self.user_id, "token": self.token, "agentId": agent_id.into() })
    }
}

/// A service of the test's own on `db`, to set things up as the CLI would (on PostgreSQL its
/// changes are announced like any instance's).
pub async fn operator_on(db: &TestDb) -> Service {
    let config = test_config(db);
    let store = connect(&config).await.unwrap();
    Service::new(store, Arc::new(config))
}

/// The account `acme` with these agents on `db`, made by a service of the test's own
/// (returned, to make more).
pub async fn acme_on(db: &TestDb, agents: &[impl AsRef<str>]) -> Service {
    let service = operator_on(db).await;
    let admin = Operator { service: &service };
    admin.create_account("acme", "").await.unwrap();
    for id in agents {
        admin
            .create_agent("acme", agent(id.as_ref()))
            .await
            .unwrap();
    }
    service
}

/// Whether this Unix time is within two seconds of now.
pub fn near_now(t: &Value) -> bool {
    t.as_i64().is_some_and(|t| (t - now_unix()).abs() <= 2)
}
