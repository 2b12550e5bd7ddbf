//! Sessions, breaks and wrap-ups of one agent, driven by the telephony backend or a supervisor.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AgentPath, Caller, JsonBody, Rest, RestError, created, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{BreakDetail, WrapMode, WrapUp};
use crate::service::{EndedBy, WrapRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login, logout_all))
        .routes(routes!(logout_one))
        .routes(routes!(start_break, end_break))
        .routes(routes!(start_wrap_up, end_wrap_up))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggedIn {
    /// The session's `ssid`, for the agent's frontend: a new one of ours (shown once), or the
    /// one the request registered, echoed back.
    ssid: String,
    /// Unix seconds when the session expires (it also expires when idle).
    expires_at: i64,
}

/// Optional: without a body (or without `ssid`) we mint the ssid.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewSession)]
pub struct LoginBody {
    /// The ssid the agent's frontend already holds, from an existing login service: 32 to 256
    /// characters of `[A-Za-z0-9_-]` (1000 otherwise), that no session ever had (1513).
    #[schema(min_length = 32, max_length = 256, pattern = "^[A-Za-z0-9_-]{32,256}$")]
    ssid: Option<String>,
}

/// How many sessions were logged out.
#[derive(Serialize, ToSchema)]
pub struct LoggedOut {
    #[serde(rename = "loggedOut")]
    logged_out: u64,
}

/// Logs the agent in: answers a new ssid (shown once), or registers the ssid the body brings.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/sessions", operation_id = "login",
    request_body = LoginBody,
    responses(
        (status = 201, body = SuccessEnvelope<LoggedIn>, description = "The new session"),
        (status = 409, body = ErrorEnvelope,
            description = "1510: the agent is disabled; 1513: the `ssid` to register is already \
                           a session's (any agent's, any account's, open or ended)"),
        (status = 422, body = ErrorEnvelope,
            description = "1000: an `ssid` that is not 32 to 256 characters of `[A-Za-z0-9_-]`"),
    ),
)]
pub async fn login(at: AgentPath, JsonBody(body): JsonBody<LoginBody>) -> Rest<LoggedIn> {
    let agent = at.agent().await?;
    let act = at.caller.act();
    let login = at.service().login_with(&agent, body.ssid.as_deref(), act);
    let (ssid, expires_at) = login.await?;
    Ok(created(LoggedIn { ssid, expires_at }))
}

/// Logs every session of the agent out.
#[utoipa::path(delete, path = "/v1/agents/{agent_id}/sessions", operation_id = "logoutAgent",
    responses(
        (status = 200, body = SuccessEnvelope<LoggedOut>, description = "How many sessions ended"),
    ),
)]
pub async fn logout_all(at: AgentPath) -> Rest<LoggedOut> {
    let agent = at.agent().await?;
    let ended = at.service().logout_agent(&agent, at.caller.act()).await?;
    Ok(ok(LoggedOut { logged_out: ended }))
}

#[derive(Deserialize, ToSchema)]
pub struct Logout {
    /// Required (1505 without it).
    #[schema(required, value_type = String)]
    ssid: Option<String>,
}

/// Logs one session out by its ssid (404 when no open session of this account has it).
#[utoipa::path(post, path = "/v1/sessions/logout", operation_id = "logoutSession",
    request_body = Logout,
    responses(
        (status = 200, body = SuccessEnvelope<LoggedOut>, description = "`loggedOut`: 1"),
        (status = 404, body = ErrorEnvelope,
            description = "1512: no open session of this account has this ssid"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `ssid`"),
    ),
)]
pub async fn logout_one(caller: Caller, JsonBody(body): JsonBody<Logout>) -> Rest<LoggedOut> {
    let ssid = body.ssid.unwrap_or_default();
    let ended = caller
        .service()
        .logout_session(&caller.account, &ssid, caller.act())
        .await?;
    if !ended {
        return Err(RestError(ApiError::NoSuchResource));
    }
    Ok(ok(LoggedOut { logged_out: 1 }))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewBreak)]
pub struct BreakBody {
    /// Required: a code or label of the account's break reasons (any case).
    #[schema(required, value_type = String, example = "lunch")]
    reason: Option<String>,
}

/// Puts the agent on break.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/break", operation_id = "startBreak_v1",
    request_body = BreakBody,
    responses(
        (status = 201, body = SuccessEnvelope<BreakDetail>, description = "The break that started"),
        (status = 409, body = ErrorEnvelope,
            description = "1507 already on break; 1510 the agent is disabled"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `reason`; 1508 not an active reason of the account"),
    ),
)]
pub async fn start_break(at: AgentPath, JsonBody(body): JsonBody<BreakBody>) -> Rest<BreakDetail> {
    let agent = at.agent().await?;
    let reason = body.reason.unwrap_or_default();
    let started = at
        .service()
        .start_break(&agent, &reason, at.caller.act())
        .await?;
    Ok(created(started.detail(at.caller.now)))
}

/// Ends the agent's break.
#[utoipa::path(delete, path = "/v1/agents/{agent_id}/break", operation_id = "endBreak_v1",
    responses(
        (status = 200, body = SuccessEnvelope<BreakDetail>,
            description = "The break that ended, with its final duration"),
        (status = 409, body = ErrorEnvelope, description = "1502: not on break"),
    ),
)]
pub async fn end_break(at: AgentPath) -> Rest<BreakDetail> {
    let agent = at.agent().await?;
    let ended = at.service().end_break(&agent, at.caller.act()).await?;
    Ok(ok(ended.detail(at.caller.now)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewWrapUp)]
pub struct WrapUpBody {
    /// Required: the call that ended.
    #[schema(required, value_type = String)]
    call_id: Option<String>,
    /// The customer's number.
    #[serde(default)]
    c_number: String,
    /// Overrides the agent's wrap-up length for this call (seconds, 0 or more).
    #[schema(minimum = 0)]
    seconds: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WrapView {
    call_id: String,
    /// The customer's number.
    c_number: String,
    /// The wrap-up mode it runs under.
    mode: WrapMode,
    /// Unix seconds.
    started_at: i64,
    /// Unix seconds when it ends (null when untimed).
    wrap_e_time: Option<i64>,
    /// Unix seconds when it ended (null while it lasts).
    ended_at: Option<i64>,
}

impl From<WrapUp> for WrapView {
    fn from(w: WrapUp) -> Self {
        WrapView {
            call_id: w.call_id,
            c_number: w.customer_number,
            mode: w.mode,
            started_at: w.started_at,
            wrap_e_time: w.ends_at,
            ended_at: w.ended_at,
        }
    }
}

/// When a call ends: the agent enters wrap-up under their policy.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/wrap-up", operation_id = "startWrapUp",
    request_body = WrapUpBody,
    responses(
        (status = 201, body = SuccessEnvelope<WrapView>, description = "The wrap-up that started"),
        (status = 409, body = ErrorEnvelope,
            description = "1511 already in wrap-up; 1510 the agent is disabled"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `callId`; 1000 negative `seconds`"),
    ),
)]
pub async fn start_wrap_up(at: AgentPath, JsonBody(body): JsonBody<WrapUpBody>) -> Rest<WrapView> {
    let agent = at.agent().await?;
    let request = WrapRequest {
        call_id: body.call_id.unwrap_or_default(),
        customer_number: body.c_number,
        seconds: body.seconds,
    };
    let wrap = at
        .service()
        .start_wrap_up(&at.caller.account, &agent, request, at.caller.act())
        .await?;
    Ok(created(wrap.into()))
}

/// Ends the agent's wrap-up; a supervisor may end a forced one.
#[utoipa::path(delete, path = "/v1/agents/{agent_id}/wrap-up", operation_id = "endWrapUp_v1",
    responses(
        (status = 200, body = SuccessEnvelope<WrapView>, description = "The wrap-up that ended"),
        (status = 409, body = ErrorEnvelope, description = "1504: not in wrap-up"),
    ),
)]
pub async fn end_wrap_up(at: AgentPath) -> Rest<WrapView> {
    let agent = at.agent().await?;
    let ended = at
        .service()
        .end_wrap_up(&agent, EndedBy::Supervisor, at.caller.act())
        .await?;
    Ok(ok(ended.into()))
}
