//! Extensions on the upstream surface, same conventions (POST, any Content-Type, the
//! shared auth extractor, the envelope, HTTP 200): the agent's own state changes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::agent_on_break::OnBreak;
use super::auth::Credentials;
use super::auth::{AgentRequest, Route};
use super::envelope::UpstreamAnswer;
use super::envelope::{Reply, Success};
use super::error::ApiError;
use super::params::Params;
use crate::domain::Scope;
use crate::service::EndedBy;

pub struct StartBreak;

impl Route for StartBreak {
    const REQUIRED: &'static [&'static str] = &["reason"];
    const SCOPE: Scope = Scope::Supervise;

    fn check_types(params: &Params) -> Result<(), ApiError> {
        params.string("reason").map(drop)
    }
}

pub struct EndBreak;
impl Route for EndBreak {
    const SCOPE: Scope = Scope::Supervise;
}

pub struct EndWrapUp;
impl Route for EndWrapUp {
    const SCOPE: Scope = Scope::Supervise;
}

/// Extension: the agent starts a break.
///
/// `reason`: a code or label of the account's break reasons (any case). Answers like
/// `agentOnBreak`. Already on break: 1507; a reason that is not an active reason of the account:
/// 1508.
#[utoipa::path(post, path = "/startBreak", operation_id = "startBreak",
    tag = "agentProfile v2 extensions",
    request_body = StartBreakRequest,
    responses((status = 200, body = UpstreamAnswer<OnBreak>,
        description = "The break that started (`on_break` 1), or the error envelope")),
)]
pub async fn start_break(req: AgentRequest<StartBreak>) -> Reply<OnBreak> {
    let reason = req.params.string("reason")?.unwrap_or_default();
    let started = req.app.service.start_break(&req.agent, &reason, req.act());
    let started = started.await.map_err(|e| req.refused(e))?;
    let detail = started.detail(req.now);
    Ok(Success(OnBreak::new(true, detail, req)))
}

/// Extension: the agent ends their break.
///
/// Answers the break that ended (`on_break` 0) with its final `currentDuration`. Not on break:
/// 1502.
#[utoipa::path(post, path = "/endBreak", operation_id = "endBreak",
    tag = "agentProfile v2 extensions",
    request_body = Credentials,
    responses((status = 200, body = UpstreamAnswer<OnBreak>,
        description = "The break that ended (`on_break` 0), or the error envelope")),
)]
pub async fn end_break(req: AgentRequest<EndBreak>) -> Reply<OnBreak> {
    let ended = req.app.service.end_break(&req.agent, req.act()).await?;
    let detail = ended.detail(req.now);
    Ok(Success(OnBreak::new(false, detail, req)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WrapEnded {
    /// Always 0 (no longer in wrap-up).
    response: u8,
    /// The call.
    call_id: String,
    /// The customer's number.
    c_number: String,
    /// Seconds the wrap-up lasted.
    duration: i64,
}

/// Extension: the agent ends after-call work early.
///
/// Not allowed when the agent's wrap-up mode is `forced` (1509). Not in wrap-up: 1504.
#[utoipa::path(post, path = "/endWrapUp", operation_id = "endWrapUp",
    tag = "agentProfile v2 extensions",
    request_body = Credentials,
    responses((status = 200, body = UpstreamAnswer<WrapEnded>,
        description = "The wrap-up that ended, or the error envelope")),
)]
pub async fn end_wrap_up(req: AgentRequest<EndWrapUp>) -> Reply<WrapEnded> {
    let ended = req
        .app
        .service
        .end_wrap_up(&req.agent, EndedBy::Agent, req.act());
    let ended = ended.await?;
    Ok(Success(WrapEnded {
        response: 0,
        duration: req.now - ended.started_at,
        call_id: ended.call_id,
        c_number: ended.customer_number,
    }))
}

/// `startBreak`: the credentials and the break's reason.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct StartBreakRequest {
    #[serde(flatten)]
    credentials: Credentials,
    /// Required (1505 without it): a code or label of the account's break reasons (any case).
    /// Not an active reason of the account: 1508.
    #[schema(example = "lunch")]
    reason: String,
}
