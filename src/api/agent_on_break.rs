//! `agentOnBreak`: is the agent on break, since when, for what reason.

use axum::extract::State;
use serde::Serialize;

use super::auth::{AgentRequest, Route};
use super::envelope::Success;
use super::error::ApiError;
use crate::app::AppState;
use crate::domain::BreakDetail;

pub struct AgentOnBreak;
impl Route for AgentOnBreak {}

#[derive(Serialize)]
pub struct OnBreak {
    on_break: u8,
    #[serde(rename = "breakDetail")]
    break_detail: BreakDetail,
    agent_id: String,
    user_id: String,
}

pub async fn agent_on_break(
    State(app): State<AppState>,
    req: AgentRequest<AgentOnBreak>,
) -> Result<Success<OnBreak>, ApiError> {
    let current = app.store.open_break(req.agent.id).await?;
    let current = current.ok_or(ApiError::NotOnBreak)?;
    Ok(Success(OnBreak {
        on_break: 1,
        break_detail: current.detail(req.now),
        agent_id: req.agent.agent_id,
        user_id: req.account.user_id,
    }))
}
