//! The history: every state change, with who caused it.

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Login,
    Logout,
    BreakStart,
    BreakEnd,
    WrapStart,
    WrapEnd,
    MicChange,
    AgentDisabled,
    AgentEnabled,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::Login,
        EventKind::Logout,
        EventKind::BreakStart,
        EventKind::BreakEnd,
        EventKind::WrapStart,
        EventKind::WrapEnd,
        EventKind::MicChange,
        EventKind::AgentDisabled,
        EventKind::AgentEnabled,
    ];

    /// The OpenAPI schema of an event's `kind`: one of these strings.
    pub fn schema() -> utoipa::openapi::Object {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .enum_values(Some(EventKind::ALL.map(EventKind::as_str)))
            .build()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Login => "login",
            EventKind::Logout => "logout",
            EventKind::BreakStart => "break.start",
            EventKind::BreakEnd => "break.end",
            EventKind::WrapStart => "wrap.start",
            EventKind::WrapEnd => "wrap.end",
            EventKind::MicChange => "mic.change",
            EventKind::AgentDisabled => "agent.disabled",
            EventKind::AgentEnabled => "agent.enabled",
        }
    }
}

/// One recorded change, as the history API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: i64,
    pub agent_id: Option<String>,
    #[schema(schema_with = EventKind::schema)]
    pub kind: String,
    /// Who caused it: `session:ID`, `token:ID`, `cli` or `system`.
    pub actor: String,
    /// Unix seconds when the change took effect.
    pub at: i64,
    /// What changed, by kind (e.g. the break's reason, the wrap-up's call).
    #[schema(value_type = Object)]
    pub details: Value,
}
