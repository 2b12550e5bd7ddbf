//! Calls of one agent, driven by the telephony backend: answered, then ended (completed or
//! missed); a completed call is followed by the agent's wrap-up.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::states::WrapView;
use super::{AgentPath, JsonBody, QueryParams, Rest, created, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::ErrorEnvelope;
use crate::domain::{Call, CallDirection, CallOutcome, EndedCall};
use crate::service::CallRequest;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start_call, end_call))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewCall)]
pub struct CallBody {
    /// Required: the call's id.
    #[schema(required, value_type = String, example = "c-1001")]
    call_id: Option<String>,
    /// The customer's number.
    #[serde(default)]
    #[schema(example = "+15550100")]
    c_number: String,
    /// `inbound` (the default) or `outbound`.
    direction: Option<CallDirection>,
}

/// `?force=true` ends a break before the call starts.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// End the agent's break first (recorded as its `break.end`) instead of refusing.
    force: Option<bool>,
}

/// `?outcome=` of a call's end.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndQuery {
    /// `completed` (the default): wrap-up follows by policy; `missed`: it was not
    /// answered, or was rejected: no wrap-up.
    #[param(value_type = Option<String>, example = "missed")]
    outcome: Option<CallOutcome>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    call_id: String,
    /// The customer's number.
    c_number: String,
    direction: CallDirection,
    /// Unix seconds when it was answered.
    started_at: i64,
    /// Unix seconds when it ended (null while it lasts).
    ended_at: Option<i64>,
    /// Seconds on the call (so far).
    duration: i64,
    /// How it ended: `completed`, `missed` or `disabled` (null while it lasts).
    #[schema(value_type = Option<String>)]
    how: Option<CallOutcome>,
}

impl CallView {
    fn new(call: Call, now: i64) -> CallView {
        CallView {
            duration: call.duration(now),
            call_id: call.call_id,
            c_number: call.customer_number,
            direction: call.direction,
            started_at: call.started_at,
            ended_at: call.ended_at,
            how: call.outcome,
        }
    }
}

/// A call that ended, and the wrap-up that followed it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndedCallView {
    #[serde(flatten)]
    call: CallView,
    /// The wrap-up the agent is now in (null: straight back to available).
    wrap_up: Option<WrapView>,
}

/// A call is answered: the agent is on it.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/call", operation_id = "startCall",
    params(StartQuery),
    request_body = CallBody,
    responses(
        (status = 201, body = SuccessEnvelope<CallView>, description = "The call that started"),
        (status = 409, body = ErrorEnvelope,
            description = "1518 already on a call; 1507 on break (without `force`); \
                           1520 no live session; 1510 the agent is disabled"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `callId`; 1001 a bad `direction`"),
    ),
)]
pub async fn start_call(
    at: AgentPath,
    QueryParams(query): QueryParams<StartQuery>,
    JsonBody(body): JsonBody<CallBody>,
) -> Rest<CallView> {
    let agent = at.agent().await?;
    let request = CallRequest {
        call_id: body.call_id.unwrap_or_default(),
        customer_number: body.c_number,
        direction: body.direction,
        force: query.force.unwrap_or(false),
    };
    let call = at
        .service()
        .start_call(&agent, request, at.caller.act())
        .await?;
    Ok(created(CallView::new(call, at.caller.now)))
}

/// The call ended: wrap-up follows by the agent's policy (none when it lasts 0 seconds);
/// `?outcome=missed` for a call that was not answered or was rejected (no wrap-up).
#[utoipa::path(delete, path = "/v1/agents/{agent_id}/call", operation_id = "endCall",
    params(EndQuery),
    responses(
        (status = 200, body = SuccessEnvelope<EndedCallView>,
            description = "The call that ended, and the wrap-up that followed"),
        (status = 409, body = ErrorEnvelope,
            description = "1519 not on a call; 1510 the agent is disabled"),
        (status = 422, body = ErrorEnvelope, description = "1001 or 1000: a bad `outcome`"),
    ),
)]
pub async fn end_call(
    at: AgentPath,
    QueryParams(query): QueryParams<EndQuery>,
) -> Rest<EndedCallView> {
    let agent = at.agent().await?;
    let outcome = query.outcome.unwrap_or(CallOutcome::Completed);
    let EndedCall { call, wrap_up, .. } = at
        .service()
        .end_call(&at.caller.account, &agent, outcome, at.caller.act())
        .await?;
    Ok(ok(EndedCallView {
        call: CallView::new(call, at.caller.now),
        wrap_up: wrap_up.map(WrapView::from),
    }))
}
