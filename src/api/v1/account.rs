//! `/v1/account`: the calling account and its default wrap-up policy.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{Answer, Caller, JsonBody, RestError, RestResult, ok};
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::domain::{Account, WrapMode, WrapPolicy};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    user_id: String,
    name: String,
    wrap_seconds: i64,
    wrap_mode: WrapMode,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let policy = a.wrap_policy();
        AccountView {
            user_id: a.user_id,
            name: a.name,
            wrap_seconds: policy.seconds,
            wrap_mode: policy.mode,
        }
    }
}

pub async fn show(caller: Caller) -> Answer<AccountView> {
    ok(caller.account.into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountPatch {
    wrap_seconds: Option<i64>,
    wrap_mode: Option<WrapMode>,
}

pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(patch): JsonBody<AccountPatch>,
) -> RestResult<Answer<AccountView>> {
    if patch.wrap_seconds.is_some_and(|s| s < 0) {
        return Err(RestError(ApiError::InvalidParams));
    }
    let current = caller.account.wrap_policy();
    let policy = WrapPolicy {
        seconds: patch.wrap_seconds.unwrap_or(current.seconds),
        mode: patch.wrap_mode.unwrap_or(current.mode),
    };
    let account = app
        .store
        .set_account_wrap_policy(caller.account.id, policy)
        .await?;
    Ok(ok(account.into()))
}
