//! `/v1/account`: the calling account and its default wrap-up policy.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Answer, Caller, JsonBody, Rest, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{Account, WrapMode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, update))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    /// The upstream `userId`.
    user_id: String,
    name: String,
    /// The default wrap-up length in seconds (agents may override it).
    wrap_seconds: i64,
    /// The default wrap-up mode.
    wrap_mode: WrapMode,
    /// The IANA time zone reports' days and weeks follow (default `UTC`).
    time_zone: String,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let policy = a.wrap_policy();
        AccountView {
            user_id: a.user_id,
            name: a.name,
            wrap_seconds: policy.seconds,
            wrap_mode: policy.mode,
            time_zone: a.time_zone,
        }
    }
}

/// The calling account and its default wrap-up policy.
#[utoipa::path(get, path = "/v1/account", operation_id = "getAccount",
    responses((status = 200, body = SuccessEnvelope<AccountView>, description = "The account")),
)]
pub async fn show(caller: Caller) -> Answer<AccountView> {
    ok(Account::clone(&caller.account).into())
}

/// Absent fields are kept.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountPatch {
    /// Seconds, 0 or more.
    #[schema(minimum = 0)]
    wrap_seconds: Option<i64>,
    wrap_mode: Option<WrapMode>,
    /// An IANA time zone name (`Europe/Berlin`) or `UTC`: where reports' days begin.
    time_zone: Option<String>,
}

/// Sets the account's default wrap-up policy and its time zone.
#[utoipa::path(patch, path = "/v1/account", operation_id = "updateAccount",
    request_body = AccountPatch,
    responses(
        (status = 200, body = SuccessEnvelope<AccountView>, description = "The account"),
        (status = 422, body = ErrorEnvelope,
            description = "1000 a negative `wrapSeconds`; 1525 an unknown `timeZone`"),
    ),
)]
pub async fn update(caller: Caller, JsonBody(patch): JsonBody<AccountPatch>) -> Rest<AccountView> {
    let service = caller.service();
    if let Some(zone) = &patch.time_zone {
        // Checked before anything changes: a bad zone changes nothing.
        crate::domain::time_zone(zone.trim()).ok_or(ApiError::UnknownTimeZone)?;
    }
    let mut account = service
        .set_wrap_policy(&caller.account, patch.wrap_seconds, patch.wrap_mode)
        .await?;
    if let Some(zone) = &patch.time_zone {
        account = service.set_time_zone(&account, zone).await?;
    }
    Ok(ok(account.into()))
}
