//! `/v1/break-reasons`: the account's list of reasons, with optional limits.

use axum::extract::{Path, State};
use serde::Deserialize;

use super::{Answer, Caller, JsonBody, RestError, RestResult, created, nullable, ok};
use crate::actions;
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::domain::BreakReason;
use crate::store::{ReasonUpdate, StoreError};

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
) -> RestResult<Answer<Vec<BreakReason>>> {
    Ok(ok(app.store.reasons(caller.account.id).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewReason {
    code: Option<String>,
    label: Option<String>,
    limit_seconds: Option<i64>,
}

fn check_limit(limit: Option<i64>) -> RestResult<()> {
    match limit {
        Some(l) if l < 1 => Err(RestError(ApiError::InvalidParams)),
        _ => Ok(()),
    }
}

pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(new): JsonBody<NewReason>,
) -> RestResult<Answer<BreakReason>> {
    let (code, label) = (new.code.unwrap_or_default(), new.label.unwrap_or_default());
    let code = actions::non_empty("code", &code)?;
    let label = actions::non_empty("label", &label)?;
    check_limit(new.limit_seconds)?;
    match app
        .store
        .create_reason(
            caller.account.id,
            code,
            label,
            new.limit_seconds,
            caller.now,
        )
        .await
    {
        Err(StoreError::Conflict) => Err(RestError(ApiError::AlreadyExists)),
        other => Ok(created(other?)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasonPatch {
    label: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    limit_seconds: Option<Option<i64>>,
    active: Option<bool>,
}

pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    JsonBody(patch): JsonBody<ReasonPatch>,
) -> RestResult<Answer<BreakReason>> {
    check_limit(patch.limit_seconds.flatten())?;
    let label = match patch.label {
        Some(l) => Some(actions::non_empty("label", &l)?.to_owned()),
        None => None,
    };
    let update = ReasonUpdate {
        label,
        limit_seconds: patch.limit_seconds,
        active: patch.active,
    };
    let reason = app
        .store
        .update_reason(caller.account.id, &code, &update)
        .await?
        .ok_or(RestError(ApiError::NoSuchResource))?;
    Ok(ok(reason))
}
