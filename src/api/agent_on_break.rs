//! `agentOnBreak`: is the agent on break, since when, for what reason.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Credentials;
use super::auth::{AgentRequest, Route};
use super::envelope::UpstreamAnswer;
use super::envelope::{Reply, Success};
use super::error::ApiError;
use crate::domain::{Account, Agent, BreakDetail};

pub struct AgentOnBreak;
impl Route for AgentOnBreak {}

/// The answer of agentOnBreak, and of the startBreak/endBreak extensions.
#[derive(Serialize, ToSchema)]
pub struct OnBreak {
    /// 1 while on break; 0 in the answer of `endBreak`.
    on_break: u8,
    #[serde(rename = "breakDetail")]
    break_detail: BreakDetail,
    // Shared with the live view, not copied: written as the agent's id.
    #[serde(rename = "agent_id", serialize_with = "super::envelope::agent_id")]
    #[schema(rename = "agent_id", value_type = String)]
    agent: Arc<Agent>,
    #[serde(rename = "user_id", serialize_with = "super::envelope::user_id")]
    #[schema(rename = "user_id", value_type = String)]
    account: Arc<Account>,
}

impl OnBreak {
    pub fn new<R>(on_break: bool, detail: BreakDetail, req: AgentRequest<R>) -> OnBreak {
        OnBreak {
            on_break: u8::from(on_break),
            break_detail: detail,
            agent: req.agent,
            account: req.account,
        }
    }
}

/// Is the agent on break, since when, for what reason.
///
/// Not on break: error 1502 `On break is : 0`.
#[utoipa::path(post, path = "/agentOnBreak", operation_id = "agentOnBreak",
    request_body = Credentials,
    responses((status = 200, body = UpstreamAnswer<OnBreak>,
        description = "`on_break` 1 with the break's detail, or the error envelope")),
)]
pub async fn agent_on_break(req: AgentRequest<AgentOnBreak>) -> Reply<OnBreak> {
    let current = req.app.service.open_break(&req.agent).await?;
    let current = current.ok_or(ApiError::NotOnBreak)?;
    let detail = current.detail(req.now);
    Ok(Success(OnBreak::new(true, detail, req)))
}
