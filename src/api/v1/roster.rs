//! `/v1/roster`: every agent of the account with its current state, in one call.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Answer, Caller, RestResult, ok};
use crate::api::envelope::SuccessEnvelope;
use crate::app::AppState;
use crate::domain::WrapMode;
use crate::store::RosterRow;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    pub agent_id: String,
    pub name: String,
    /// `disabled`, `on_break`, `wrap_up`, `available` (logged in) or `offline`.
    #[schema(schema_with = states)]
    pub state: &'static str,
    pub logged_in: bool,
    pub disabled: bool,
    #[serde(rename = "break")]
    pub on_break: Option<RosterBreak>,
    pub wrap_up: Option<RosterWrap>,
    /// Server time of the last ping, and the microphone permission it reported.
    pub last_ping_at: Option<i64>,
    /// `granted`, `denied` or `prompt`, or null before the first ping.
    pub mic_perm: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterBreak {
    pub reason_code: String,
    /// The reason's label.
    pub reason: String,
    /// Unix seconds.
    pub since: i64,
    /// Seconds in this state.
    pub elapsed: i64,
    /// The reason's limit in seconds, or null.
    pub limit: Option<i64>,
    pub over_limit: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterWrap {
    pub call_id: String,
    /// The customer's number.
    pub c_number: String,
    #[schema(value_type = WrapMode)]
    pub mode: String,
    /// Unix seconds.
    pub since: i64,
    /// Unix seconds when it ends (null when untimed).
    pub wrap_e_time: Option<i64>,
    /// Seconds left (null when untimed).
    pub remaining: Option<i64>,
}

/// The values of `state`, as [`RosterEntry::new`] sets them.
const STATES: [&str; 5] = ["disabled", "on_break", "wrap_up", "available", "offline"];

fn states() -> utoipa::openapi::Object {
    crate::api::openapi::one_of_strings(&STATES)
}

impl RosterEntry {
    pub fn new(row: RosterRow, now: i64) -> RosterEntry {
        let on_break = match (row.reason_code, row.reason, row.break_started_at) {
            (Some(reason_code), Some(reason), Some(since)) => {
                let elapsed = (now - since).max(0);
                Some(RosterBreak {
                    reason_code,
                    reason,
                    since,
                    elapsed,
                    limit: row.limit_seconds,
                    over_limit: row.limit_seconds.is_some_and(|l| elapsed > l),
                })
            }
            _ => None,
        };
        let wrap_up = match (row.call_id, row.wrap_mode, row.wrap_started_at) {
            (Some(call_id), Some(mode), Some(since)) => Some(RosterWrap {
                call_id,
                c_number: row.customer_number.unwrap_or_default(),
                mode,
                since,
                wrap_e_time: row.wrap_ends_at,
                remaining: row.wrap_ends_at.map(|end| (end - now).max(0)),
            }),
            _ => None,
        };
        let logged_in = row.live_sessions > 0;
        let state = if row.disabled {
            "disabled"
        } else if on_break.is_some() {
            "on_break"
        } else if wrap_up.is_some() {
            "wrap_up"
        } else if logged_in {
            "available"
        } else {
            "offline"
        };
        RosterEntry {
            agent_id: row.agent_id,
            name: row.name,
            state,
            logged_in,
            disabled: row.disabled,
            on_break,
            wrap_up,
            last_ping_at: row.last_ping_at,
            mic_perm: row.mic_perm,
        }
    }
}

/// Every agent of the account with its current state, in one call.
#[utoipa::path(
    get,
    path = "/v1/roster",
    operation_id = "roster",
    tag = "management (/v1)",
    security(("bearerToken" = [])),
    responses((status = 200, body = SuccessEnvelope<Vec<RosterEntry>>, description = "The roster")),
)]
pub async fn roster(
    State(app): State<AppState>,
    caller: Caller,
) -> RestResult<Answer<Vec<RosterEntry>>> {
    let rows = app
        .store
        .roster(
            caller.account.id,
            caller.now,
            app.config.session_idle_timeout_secs,
        )
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(|r| RosterEntry::new(r, caller.now))
        .collect()))
}
