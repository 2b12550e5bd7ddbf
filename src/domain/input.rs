//! What the service hands the store to create or change: plain records, named here so that
//! the service, the API and the CLI name them without naming the store.

use super::{MicPerm, Scope, TagAction, WrapMode, WrapPolicy};

/// A new account, with its default wrap-up policy.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user_id: String,
    pub name: String,
    pub wrap: WrapPolicy,
}

/// A new API token, by the hash of its secret.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub scope: Scope,
    pub label: &'a str,
    pub expires_at: Option<i64>,
}

/// A new agent; without overrides the account's wrap-up policy applies.
#[derive(Debug, Clone, Default)]
pub struct NewAgent {
    pub agent_id: String,
    pub name: String,
    pub wrap_seconds: Option<i64>,
    pub wrap_mode: Option<WrapMode>,
}

/// A partial update; `Some(None)` clears an override so the account's policy applies.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub wrap_seconds: Option<Option<i64>>,
    pub wrap_mode: Option<Option<WrapMode>>,
}

/// A new break reason; `Conflict` when the account has one of this code.
#[derive(Debug, Clone, Default)]
pub struct NewReason {
    pub code: String,
    pub label: String,
    pub limit_seconds: Option<i64>,
}

/// A partial update of a break reason; `limit_seconds: Some(None)` removes the limit.
#[derive(Debug, Clone, Default)]
pub struct ReasonUpdate {
    pub label: Option<String>,
    pub limit_seconds: Option<Option<i64>>,
    pub active: Option<bool>,
}

/// A login: the new ssid's hash and when the session expires; `registered` when the ssid
/// came from the caller (an existing login service's) rather than from us. `Conflict` when
/// the hash is already any session's.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub ssid_hash: String,
    pub expires_at: i64,
    pub registered: bool,
}

/// What `setWebPingTime` records, and the session it came through (None with a token).
#[derive(Debug, Clone, Copy)]
pub struct Ping {
    pub session_pk: Option<i64>,
    pub received_at: i64,
    pub client_time: Option<i64>,
    pub mic_perm: MicPerm,
}

/// A wrap-up to start; `ends_at` None is untimed.
#[derive(Debug, Clone)]
pub struct NewWrapUp {
    pub call_id: String,
    pub customer_number: String,
    pub mode: WrapMode,
    pub ends_at: Option<i64>,
}

/// A page of the account's agents in creation order, after the agent of primary key `after`.
#[derive(Debug, Clone, Copy)]
pub struct AgentPage {
    pub account_pk: i64,
    pub after: i64,
    pub limit: i64,
}

/// A token by its account's primary key and its own: one of another account is not found.
#[derive(Debug, Clone, Copy)]
pub struct AccountToken {
    pub account_pk: i64,
    pub token_pk: i64,
}

/// The roster of the account (or of only its `agents`, by primary key) at `now`; a session
/// idle for `idle_timeout_secs` is no longer live.
#[derive(Debug, Clone, Copy)]
pub struct RosterQuery<'a> {
    pub account_pk: i64,
    pub agents: Option<&'a [i64]>,
    pub now: i64,
    pub idle_timeout_secs: i64,
}

/// A single-use stream ticket, by its hash, for the token `token_pk` until `expires_at`.
#[derive(Debug, Clone, Copy)]
pub struct NewTicket<'a> {
    pub ticket_hash: &'a str,
    pub token_pk: i64,
    pub expires_at: i64,
}

/// A page of history: events with `from <= at < to`, oldest first (or newest first), past the
/// event id `after` in that order (the last id of the previous page; 0: the first page).
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub account_pk: i64,
    pub agent_pk: Option<i64>,
    pub from: i64,
    pub to: i64,
    pub after: i64,
    pub limit: i64,
    pub newest_first: bool,
}

/// A new notification tag of an agent (see `Tag`); `text` and `icon` may be left out.
#[derive(Debug, Clone, Default)]
pub struct NewTag {
    pub title: String,
    pub text: Option<String>,
    pub icon: Option<String>,
    pub action: Option<TagAction>,
}

impl NewTag {
    /// The tag a missed call leaves: "Missed call", with a callback to the customer.
    pub fn missed_call(call_id: &str, c_number: &str) -> NewTag {
        NewTag {
            title: "Missed call".to_owned(),
            text: None,
            icon: Some("missed_call".to_owned()),
            action: Some(TagAction::Callback {
                call_id: call_id.to_owned(),
                c_number: Some(c_number.to_owned()).filter(|n| !n.is_empty()),
            }),
        }
    }
}
