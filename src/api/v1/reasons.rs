//! `/v1/break-reasons`: the account's list of reasons, with optional limits.

use axum::extract::Path;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Caller, JsonBody, Rest, created, nullable, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::ErrorEnvelope;
use crate::domain::{self, BreakReason, ReasonUpdate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
}

/// The account's break reasons, active or not.
#[utoipa::path(get, path = "/v1/break-reasons", operation_id = "listBreakReasons",
    responses((status = 200, body = SuccessEnvelope<Vec<BreakReason>>, description = "The reasons")),
)]
pub async fn list(caller: Caller) -> Rest<Vec<BreakReason>> {
    Ok(ok(caller.service().reasons(&caller.account).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewReason)]
pub struct ReasonBody {
    /// Required, unique in the account.
    #[schema(required, value_type = String, example = "coffee")]
    code: Option<String>,
    /// Required.
    #[schema(required, value_type = String, example = "Coffee")]
    label: Option<String>,
    /// Seconds after which a break is flagged over its limit (1 or more; null: no limit).
    #[schema(minimum = 1)]
    limit_seconds: Option<i64>,
}

/// Adds a break reason.
#[utoipa::path(post, path = "/v1/break-reasons", operation_id = "createBreakReason",
    request_body = ReasonBody,
    responses(
        (status = 201, body = SuccessEnvelope<BreakReason>, description = "The reason created"),
        (status = 409, body = ErrorEnvelope, description = "1513: the code is taken"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `code` or `label`; 1000 a `limitSeconds` below 1"),
    ),
)]
pub async fn create(caller: Caller, JsonBody(new): JsonBody<ReasonBody>) -> Rest<BreakReason> {
    let new = domain::NewReason {
        code: new.code.unwrap_or_default(),
        label: new.label.unwrap_or_default(),
        limit_seconds: new.limit_seconds,
    };
    Ok(created(
        caller.service().create_reason(&caller.account, new).await?,
    ))
}

/// Absent fields are kept; `limitSeconds: null` removes the limit.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReasonPatch {
    label: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    limit_seconds: Option<Option<i64>>,
    /// Inactive reasons stay in the history but cannot start new breaks.
    active: Option<bool>,
}

/// Changes a break reason.
#[utoipa::path(patch, path = "/v1/break-reasons/{code}", operation_id = "updateBreakReason",
    params(("code" = String, Path, description = "The reason's code")),
    request_body = ReasonPatch,
    responses(
        (status = 200, body = SuccessEnvelope<BreakReason>, description = "The reason"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such reason in this account"),
        (status = 422, body = ErrorEnvelope, description = "1505 an empty `label`; 1000 a `limitSeconds` below 1"),
    ),
)]
pub async fn update(
    caller: Caller,
    Path(code): Path<String>,
    JsonBody(patch): JsonBody<ReasonPatch>,
) -> Rest<BreakReason> {
    let update = ReasonUpdate {
        label: patch.label,
        limit_seconds: patch.limit_seconds,
        active: patch.active,
    };
    let reason = caller
        .service()
        .update_reason(&caller.account, &code, update)
        .await?;
    Ok(ok(reason))
}
