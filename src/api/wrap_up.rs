//! `wrapUp` (and its upstream name `checkAgentInWrapUp`): is the agent in after-call work.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Credentials;
use super::auth::{AgentRequest, Route};
use super::envelope::UpstreamAnswer;
use super::envelope::{Reply, Success};
use super::error::ApiError;
use crate::api::AppState;

pub struct WrapUpRoute;
impl Route for WrapUpRoute {}

/// Field names as upstream documents them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InWrapUp {
    /// Always 1 (in wrap-up).
    response: u8,
    /// Unix seconds when the wrap-up ends (null when untimed).
    wrap_e_time: Option<i64>,
    /// Seconds of wrap-up left (null when untimed).
    current_duration: Option<i64>,
    /// The call.
    call_id: String,
    /// The customer's number.
    c_number: String,
}

/// Is the agent in after-call wrap-up, and until when.
///
/// A wrap-up whose time has run out is over. Not in wrap-up: error 1504 `Agent not in wrap time`.
#[utoipa::path(post, path = "/wrapUp", operation_id = "wrapUp", request_body = Credentials,
    responses((status = 200, body = UpstreamAnswer<InWrapUp>,
        description = "The wrap-up, or the error envelope")),
)]
pub async fn wrap_up(req: AgentRequest<WrapUpRoute>) -> Reply<InWrapUp> {
    let wrap = req.app.service.active_wrap_up(&req.agent, req.now).await?;
    let wrap = wrap.ok_or(ApiError::NotInWrapUp)?;
    Ok(Success(InWrapUp {
        response: 1,
        wrap_e_time: wrap.ends_at,
        current_duration: wrap.remaining(req.now),
        call_id: wrap.call_id,
        c_number: wrap.customer_number,
    }))
}

/// `wrapUp` under upstream's documented name: the same call, the same answer.
///
/// A wrap-up whose time has run out is over. Not in wrap-up: error 1504 `Agent not in wrap time`.
#[utoipa::path(post, path = "/checkAgentInWrapUp", operation_id = "checkAgentInWrapUp",
    request_body = Credentials,
    responses((status = 200, body = UpstreamAnswer<InWrapUp>,
        description = "The wrap-up, or the error envelope")),
)]
pub async fn check_agent_in_wrap_up(
    _app: State<AppState>,
    req: AgentRequest<WrapUpRoute>,
) -> Reply<InWrapUp> {
    wrap_up(req).await
}
