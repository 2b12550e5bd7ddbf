//! Extensions on the upstream surface, same conventions (POST, any Content-Type, the
//! shared auth extractor, the envelope, HTTP 200): the agent's own state changes.

use axum::extract::State;
use serde::Serialize;

use super::agent_on_break::OnBreak;
use super::auth::{AgentRequest, Route};
use super::envelope::Success;
use super::error::ApiError;
use super::params::Params;
use crate::actions;
use crate::app::AppState;

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

/// `startBreak` (`reason`: a code or label of the account's break reasons).
pub async fn start_break(
    State(app): State<AppState>,
    req: AgentRequest<StartBreak>,
) -> Result<Success<OnBreak>, ApiError> {
    let reason = req.params.string("reason")?.unwrap_or_default();
    let started = actions::start_break(app.store.as_ref(), &req.agent, &reason, req.actor, req.now)
        .await
        .map_err(|e| req.refused(e))?;
    let detail = started.detail(req.now);
    Ok(Success(OnBreak::new(true, detail, req)))
}

/// `endBreak`: answers the break that ended, with its final duration.
pub async fn end_break(
    State(app): State<AppState>,
    req: AgentRequest<EndBreak>,
) -> Result<Success<OnBreak>, ApiError> {
    let ended = actions::end_break(app.store.as_ref(), &req.agent, req.actor, req.now).await?;
    let detail = ended.detail(req.now);
    Ok(Success(OnBreak::new(false, detail, req)))
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
