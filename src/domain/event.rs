//! The history: every state change, with who caused it and what it was.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::text_enum::text_enum;
use super::{Actor, CallDirection, CallOutcome, MicPerm, Presence, WrapMode};

text_enum! {
    /// What changed.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum EventKind ("event kind") {
        Login = "login", Logout = "logout", BreakStart = "break.start", BreakEnd = "break.end",
        WrapStart = "wrap.start", WrapEnd = "wrap.end", MicChange = "mic.change",
        AgentDisabled = "agent.disabled", AgentEnabled = "agent.enabled",
        PresenceOnline = "presence.online", PresenceStale = "presence.stale",
        PresenceOffline = "presence.offline", CallStart = "call.start", CallEnd = "call.end",
        TagCreate = "tag.create", WebhookDisabled = "webhook.disabled",
    }
}

impl EventKind {
    /// Whether an event of this kind changes the agent's state in the roster (and so its
    /// `stateSince`): the microphone and presence are reported apart from the state.
    pub fn changes_state(&self) -> bool {
        match self {
            EventKind::Login
            | EventKind::Logout
            | EventKind::BreakStart
            | EventKind::BreakEnd
            | EventKind::WrapStart
            | EventKind::WrapEnd
            | EventKind::AgentDisabled
            | EventKind::AgentEnabled
            | EventKind::CallStart
            | EventKind::CallEnd => true,
            EventKind::MicChange
            | EventKind::PresenceOnline
            | EventKind::PresenceStale
            | EventKind::PresenceOffline
            | EventKind::TagCreate
            | EventKind::WebhookDisabled => false,
        }
    }

    /// Whether an event of this kind leaves alone all the live view holds (an agent's
    /// break, wrap-up, microphone, sessions and account): presence is the agents' row of
    /// the roster, not the view's, and a floor going silent together must not empty the
    /// view of all its agents at once (each agent's next read would go to the database).
    pub fn leaves_live_view(&self) -> bool {
        matches!(
            self,
            EventKind::PresenceOnline
                | EventKind::PresenceStale
                | EventKind::PresenceOffline
                | EventKind::TagCreate
                | EventKind::WebhookDisabled
        )
    }
}

/// How a wrap-up (or, with `disabled`, a login) ended: `how` in the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Ended by a request (the agent, a supervisor).
    Ended,
    /// Its time ran out.
    Expired,
    /// The agent was disabled.
    Disabled,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Ended => "ended",
            Ending::Expired => "expired",
            Ending::Disabled => "disabled",
        }
    }
}

/// How a break ended: by a request, which records its length, or by the agent's disabling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakEnding {
    Ended { duration: i64, over_limit: bool },
    Disabled,
}

/// What an event records, one variant per kind (the presence crossings share one): it
/// gives the event its kind, and its `details` as the history answers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDetails {
    /// `registered`: the login service brought the ssid (see `POST /v1/agents/{id}/sessions`);
    /// a minted one's details do not name it.
    Login {
        session: i64,
        expires_at: i64,
        registered: bool,
    },
    /// `session` when one session was logged out; `disabled` when the agent's disabling did.
    Logout {
        session: Option<i64>,
        sessions: u64,
        disabled: bool,
    },
    BreakStart {
        reason_code: String,
        reason: String,
        limit: Option<i64>,
    },
    BreakEnd {
        reason_code: String,
        how: BreakEnding,
    },
    WrapStart {
        call_id: String,
        customer_number: String,
        mode: WrapMode,
        ends_at: Option<i64>,
    },
    WrapEnd {
        call_id: String,
        how: Ending,
    },
    MicChange {
        mic_perm: MicPerm,
    },
    AgentDisabled,
    AgentEnabled,
    /// A call answered (or placed).
    CallStart {
        call_id: String,
        customer_number: String,
        direction: CallDirection,
    },
    /// A call ended: its length in seconds, and how.
    CallEnd {
        call_id: String,
        duration: i64,
        how: CallOutcome,
    },
    /// A presence threshold crossed, from `from` to `to`.
    Presence {
        from: Presence,
        to: Presence,
        last_seen_at: Option<i64>,
    },
    /// A notification tag created for the agent.
    TagCreate {
        tag: i64,
        title: String,
    },
    /// A webhook endpoint disabled by the deliverer after its last failed attempt (an
    /// account's event: no agent).
    WebhookDisabled {
        webhook: i64,
        url: String,
        event: i64,
        attempts: u32,
    },
}

impl EventDetails {
    pub fn kind(&self) -> EventKind {
        match self {
            EventDetails::Login { .. } => EventKind::Login,
            EventDetails::Logout { .. } => EventKind::Logout,
            EventDetails::BreakStart { .. } => EventKind::BreakStart,
            EventDetails::BreakEnd { .. } => EventKind::BreakEnd,
            EventDetails::WrapStart { .. } => EventKind::WrapStart,
            EventDetails::WrapEnd { .. } => EventKind::WrapEnd,
            EventDetails::MicChange { .. } => EventKind::MicChange,
            EventDetails::AgentDisabled => EventKind::AgentDisabled,
            EventDetails::AgentEnabled => EventKind::AgentEnabled,
            EventDetails::CallStart { .. } => EventKind::CallStart,
            EventDetails::CallEnd { .. } => EventKind::CallEnd,
            EventDetails::Presence { to, .. } => match to {
                Presence::Online => EventKind::PresenceOnline,
                Presence::Stale => EventKind::PresenceStale,
                Presence::Offline => EventKind::PresenceOffline,
            },
            EventDetails::TagCreate { .. } => EventKind::TagCreate,
            EventDetails::WebhookDisabled { .. } => EventKind::WebhookDisabled,
        }
    }

    /// The `details` object, as stored and as the history and the stream send it (README,
    /// "A history event"): the one place its keys are written.
    pub fn to_json(&self) -> Value {
        match self {
            EventDetails::Login {
                session,
                expires_at,
                registered,
            } => {
                let mut details = json!({ "session": session, "expiresAt": expires_at });
                if *registered {
                    details["registered"] = json!(true);
                }
                details
            }
            EventDetails::Logout {
                session,
                sessions,
                disabled,
            } => {
                let mut details = json!({ "sessions": sessions });
                if let Some(session) = session {
                    details["session"] = json!(session);
                }
                if *disabled {
                    details["how"] = json!(Ending::Disabled.as_str());
                }
                details
            }
            EventDetails::BreakStart {
                reason_code,
                reason,
                limit,
            } => json!({ "reasonCode": reason_code, "reason": reason, "limit": limit }),
            EventDetails::BreakEnd { reason_code, how } => match how {
                BreakEnding::Ended {
                    duration,
                    over_limit,
                } => json!({ "reasonCode": reason_code, "duration": duration,
                             "overLimit": over_limit }),
                BreakEnding::Disabled => {
                    json!({ "reasonCode": reason_code, "how": Ending::Disabled.as_str() })
                }
            },
            EventDetails::WrapStart {
                call_id,
                customer_number,
                mode,
                ends_at,
            } => json!({ "callId": call_id, "cNumber": customer_number,
                         "mode": mode.as_str(), "endsAt": ends_at }),
            EventDetails::WrapEnd { call_id, how } => {
                json!({ "callId": call_id, "how": how.as_str() })
            }
            EventDetails::MicChange { mic_perm } => json!({ "micPerm": mic_perm.as_str() }),
            EventDetails::AgentDisabled | EventDetails::AgentEnabled => json!({}),
            EventDetails::CallStart {
                call_id,
                customer_number,
                direction,
            } => json!({ "callId": call_id, "cNumber": customer_number,
                         "direction": direction.as_str() }),
            EventDetails::CallEnd {
                call_id,
                duration,
                how,
            } => json!({ "callId": call_id, "duration": duration, "how": how.as_str() }),
            EventDetails::Presence {
                from, last_seen_at, ..
            } => json!({ "from": from, "lastSeenAt": last_seen_at }),
            EventDetails::TagCreate { tag, title } => json!({ "tag": tag, "title": title }),
            EventDetails::WebhookDisabled {
                webhook,
                url,
                event,
                attempts,
            } => json!({ "webhook": webhook, "url": url, "event": event, "attempts": attempts }),
        }
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
    #[schema(value_type = String)]
    pub actor: Actor,
    /// Unix seconds when the change took effect.
    pub at: i64,
    /// What changed, by kind (e.g. the break's reason, the wrap-up's call).
    #[schema(value_type = Object)]
    pub details: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_keep_their_wire_form() {
        let text = |d: EventDetails| d.to_json().to_string();
        let start = EventDetails::BreakStart {
            reason_code: "lunch".into(),
            reason: "Lunch".into(),
            limit: Some(3600),
        };
        assert_eq!(start.kind(), EventKind::BreakStart);
        assert_eq!(
            text(start),
            r#"{"limit":3600,"reason":"Lunch","reasonCode":"lunch"}"#
        );
        let logout = EventDetails::Logout {
            session: Some(4),
            sessions: 1,
            disabled: false,
        };
        assert_eq!(text(logout), r#"{"session":4,"sessions":1}"#);
        let logout = EventDetails::Logout {
            session: None,
            sessions: 2,
            disabled: true,
        };
        assert_eq!(text(logout), r#"{"how":"disabled","sessions":2}"#);
        assert_eq!(text(EventDetails::AgentEnabled), "{}");
        let login = |registered| EventDetails::Login {
            session: 3,
            expires_at: 100,
            registered,
        };
        assert_eq!(text(login(false)), r#"{"expiresAt":100,"session":3}"#);
        assert_eq!(
            text(login(true)),
            r#"{"expiresAt":100,"registered":true,"session":3}"#
        );
        let presence = EventDetails::Presence {
            from: Presence::Online,
            to: Presence::Stale,
            last_seen_at: None,
        };
        assert_eq!(presence.kind(), EventKind::PresenceStale);
        assert_eq!(text(presence), r#"{"from":"online","lastSeenAt":null}"#);
    }

    /// Every kind is documented: README's table of event kinds names each one (a row's
    /// first cell, e.g. `` `break.start` / `break.end` `` or `` `presence.online` / `.stale` ``).
    #[test]
    fn readme_documents_every_event_kind() {
        let readme = include_str!("../../README.md");
        let table: Vec<&str> = readme
            .lines()
            .skip_while(|line| !line.starts_with("| kind |"))
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| line.split('|').nth(1))
            .collect();
        assert!(!table.is_empty(), "README has no table of event kinds");
        let documented = |kind: &str| {
            table.iter().any(|cell| {
                let mut family = "";
                cell.split('`').skip(1).step_by(2).any(|name| {
                    // `.stale` after `presence.online` reads as `presence.stale`.
                    let full = match name.strip_prefix('.') {
                        Some(tail) => format!("{family}.{tail}"),
                        None => {
                            family = name.split('.').next().unwrap_or(name);
                            name.to_owned()
                        }
                    };
                    full == kind
                })
            })
        };
        for kind in EventKind::ALL {
            assert!(
                documented(kind.as_str()),
                "README's event table misses `{kind}`"
            );
        }
    }
}
