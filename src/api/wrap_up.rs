//! `wrapUp` (and its upstream name `checkAgentInWrapUp`): is the agent in after-call work.

use axum::extract::State;
use serde::Serialize;

use super::auth::{AgentRequest, Route};
use super::envelope::Success;
use super::error::ApiError;
use crate::app::AppState;

pub struct WrapUpRoute;
impl Route for WrapUpRoute {}

/// Field names as upstream documents them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InWrapUp {
    response: u8,
    /// Unix seconds when the wrap-up ends (null when untimed).
    wrap_e_time: Option<i64>,
    /// Seconds of wrap-up left (null when untimed).
    current_duration: Option<i64>,
    call_id: String,
    c_number: String,
}

pub async fn wrap_up(
    State(app): State<AppState>,
    req: AgentRequest<WrapUpRoute>,
) -> Result<Success<InWrapUp>, ApiError> {
    let wrap = app.store.active_wrap_up(req.agent.id, req.now).await?;
    let wrap = wrap.ok_or(ApiError::NotInWrapUp)?;
    Ok(Success(InWrapUp {
        response: 1,
        wrap_e_time: wrap.ends_at,
        current_duration: wrap.remaining(req.now),
        call_id: wrap.call_id,
        c_number: wrap.customer_number,
    }))
}
