//! `/v1/roster`: every agent of the account with its current state, in one call.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Caller, Rest, ok};
use crate::api::envelope::SuccessEnvelope;
use crate::domain::{AgentState, MicPerm, WrapMode};
use crate::state::AppState;
use crate::store::RosterLine;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(roster))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    pub agent_id: String,
    pub name: String,
    pub state: AgentState,
    pub logged_in: bool,
    pub disabled: bool,
    #[serde(rename = "break")]
    pub on_break: Option<RosterBreak>,
    pub wrap_up: Option<RosterWrap>,
    /// Server time of the last ping, and the microphone permission it reported.
    pub last_ping_at: Option<i64>,
    /// `granted`, `denied` or `prompt`, or null before the first ping.
    #[schema(value_type = Option<String>)]
    pub mic_perm: Option<&'static str>,
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
    pub mode: WrapMode,
    /// Unix seconds.
    pub since: i64,
    /// Unix seconds when it ends (null when untimed).
    pub wrap_e_time: Option<i64>,
    /// Seconds left (null when untimed).
    pub remaining: Option<i64>,
}

impl RosterEntry {
    /// The line as the domain's rules read it at `now`.
    pub fn new(line: RosterLine, now: i64) -> RosterEntry {
        let on_break = line.on_break.map(|b| {
            let detail = b.detail(now);
            RosterBreak {
                reason_code: detail.reason_code,
                reason: detail.reason,
                since: detail.break_s_time,
                elapsed: detail.current_duration,
                limit: detail.limit,
                over_limit: detail.over_limit,
            }
        });
        let wrap_up = line.wrap_up.map(|w| RosterWrap {
            remaining: w.remaining(now),
            call_id: w.call_id,
            c_number: w.customer_number,
            mode: w.mode,
            since: w.started_at,
            wrap_e_time: w.ends_at,
        });
        let logged_in = line.live_sessions > 0;
        RosterEntry {
            state: AgentState::of(
                line.agent.disabled,
                on_break.is_some(),
                wrap_up.is_some(),
                logged_in,
            ),
            agent_id: line.agent.agent_id,
            name: line.agent.name,
            logged_in,
            disabled: line.agent.disabled,
            on_break,
            wrap_up,
            last_ping_at: line.last_ping_at,
            mic_perm: line.mic_perm.map(MicPerm::as_str),
        }
    }
}

/// Every agent of the account with its current state, in one call.
#[utoipa::path(get, path = "/v1/roster", operation_id = "roster",
    responses((status = 200, body = SuccessEnvelope<Vec<RosterEntry>>, description = "The roster")),
)]
pub async fn roster(caller: Caller) -> Rest<Vec<RosterEntry>> {
    let rows = caller
        .app
        .service
        .roster(&caller.account, caller.now)
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(|r| RosterEntry::new(r, caller.now))
        .collect()))
}
