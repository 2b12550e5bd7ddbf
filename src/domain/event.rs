//! The history: every state change, with who caused it.

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::text_enum::text_enum;

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The agent, through this login session.
    Session(i64),
    /// The account's API token of this id (telephony backend, supervisor tools).
    Token(i64),
    /// The operator CLI.
    Cli,
    /// The server itself (a timed wrap-up running out).
    System,
}

/// A change's who and when: the actor, and the server's clock when the request was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Act {
    pub actor: Actor,
    pub now: i64,
}

impl Act {
    /// The operator CLI, now.
    pub fn cli() -> Act {
        Act {
            actor: Actor::Cli,
            now: super::now_unix(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Session(id) => write!(f, "session:{id}"),
            Actor::Token(id) => write!(f, "token:{id}"),
            Actor::Cli => f.write_str("cli"),
            Actor::System => f.write_str("system"),
        }
    }
}

text_enum! {
    /// What changed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EventKind ("event kind") {
        Login = "login", Logout = "logout", BreakStart = "break.start", BreakEnd = "break.end",
        WrapStart = "wrap.start", WrapEnd = "wrap.end", MicChange = "mic.change",
        AgentDisabled = "agent.disabled", AgentEnabled = "agent.enabled",
        PresenceOnline = "presence.online", PresenceStale = "presence.stale",
        PresenceOffline = "presence.offline",
    }
}

/// One recorded change, as the history API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: i64,
    pub agent_id: Option<String>,
    pub kind: EventKind,
    /// Who caused it: `session:ID`, `token:ID`, `cli` or `system`.
    pub actor: String,
    /// Unix seconds when the change took effect.
    pub at: i64,
    /// What changed, by kind (e.g. the break's reason, the wrap-up's call).
    #[schema(value_type = Object)]
    pub details: Value,
}
