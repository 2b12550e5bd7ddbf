//! Extensions on the upstream surface, same conventions (POST, any Content-Type, the
//! shared auth extractor, the envelope, HTTP 200): the agent's own state changes.

use axum::extract::State;
use serde::Serialize;

use super::auth::{AgentRequest, Route};
use super::envelope::Success;
use super::error::ApiError;
use super::params::Params;
use crate::actions;
use crate::app::AppState;
use crate::domain::BreakDetail;

pub struct StartBreak;

impl Route for StartBreak {
    const REQUIRED: &'static [&'static str] = &["reason"];

    fn check_types(params: &Params) -> Result<(), ApiError> {
        params.string("reason").map(drop)
    }
}

pub struct EndBreak;
impl Route for EndBreak {}

pub struct EndWrapUp;
impl Route for EndWrapUp {}

#[derive(Serialize)]
pub struct BreakAnswer {
    on_break: u8,
    #[serde(rename = "breakDetail")]
    break_detail: BreakDetail,
    agent_id: String,
    user_id: String,
}

/// `startBreak` (`reason`: a code or label of the account's break reasons).
pub async fn start_break(
    State(app): State<AppState>,
    req: AgentRequest<StartBreak>,
) -> Result<Success<BreakAnswer>, ApiError> {
    let reason = req.params.string("reason")?.unwrap_or_default();
    let started =
        actions::start_break(app.store.as_ref(), &req.agent, &reason, req.actor, req.now).await?;
    Ok(Success(BreakAnswer {
        on_break: 1,
        break_detail: started.detail(req.now),
        agent_id: req.agent.agent_id,
        user_id: req.account.user_id,
    }))
}

/// `endBreak`: answers the break that ended, with its final duration.
pub async fn end_break(
    State(app): State<AppState>,
    req: AgentRequest<EndBreak>,
) -> Result<Success<BreakAnswer>, ApiError> {
    let ended = actions::end_break(app.store.as_ref(), &req.agent, req.actor, req.now).await?;
    Ok(Success(BreakAnswer {
        on_break: 0,
        break_detail: ended.detail(req.now),
        agent_id: req.agent.agent_id,
        user_id: req.account.user_id,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapEnded {
    response: u8,
    call_id: String,
    c_number: String,
    /// Seconds the wrap-up lasted.
    duration: i64,
}

/// `endWrapUp`: the agent ends after-call work early (not allowed when it is forced).
pub async fn end_wrap_up(
    State(app): State<AppState>,
    req: AgentRequest<EndWrapUp>,
) -> Result<Success<WrapEnded>, ApiError> {
    let supervisor = false;
    let ended = actions::end_wrap_up(
        app.store.as_ref(),
        &req.agent,
        req.actor,
        req.now,
        supervisor,
    )
    .await?;
    Ok(Success(WrapEnded {
        response: 0,
        duration: req.now - ended.started_at,
        call_id: ended.call_id,
        c_number: ended.customer_number,
    }))
}
