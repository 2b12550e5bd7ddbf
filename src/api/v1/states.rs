//! Sessions, breaks and wrap-ups of one agent, driven by the telephony backend or a supervisor.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Answer, Caller, JsonBody, RestError, RestResult, created, ok};
use crate::actions;
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::domain::{BreakDetail, WrapUp};
use crate::secrets;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedIn {
    ssid: String,
    expires_at: i64,
}

/// Logs the agent in: answers a new ssid (shown once).
pub async fn login(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<LoggedIn>> {
    let agent = caller.agent(&app, &agent_id).await?;
    let (ssid, expires_at) = actions::login(
        app.store.as_ref(),
        &app.config,
        &agent,
        caller.actor,
        caller.now,
    )
    .await?;
    Ok(created(LoggedIn { ssid, expires_at }))
}

/// Logs every session of the agent out.
pub async fn logout_all(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<Value>> {
    let agent = caller.agent(&app, &agent_id).await?;
    let ended = app
        .store
        .end_agent_sessions(&agent, caller.actor, caller.now)
        .await?;
    Ok(ok(json!({ "loggedOut": ended })))
}

#[derive(Deserialize)]
pub struct Logout {
    ssid: Option<String>,
}

/// Logs one session out by its ssid (404 when no open session of this account has it).
pub async fn logout_one(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<Logout>,
) -> RestResult<Answer<Value>> {
    let ssid = body.ssid.unwrap_or_default();
    let ssid = actions::non_empty("ssid", &ssid)?;
    let ended = app
        .store
        .end_session(
            caller.account.id,
            &secrets::hash(ssid),
            caller.actor,
            caller.now,
        )
        .await?;
    if !ended {
        return Err(RestError(ApiError::NoSuchResource));
    }
    Ok(ok(json!({ "loggedOut": 1 })))
}

#[derive(Deserialize)]
pub struct NewBreak {
    reason: Option<String>,
}

pub async fn start_break(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    JsonBody(body): JsonBody<NewBreak>,
) -> RestResult<Answer<BreakDetail>> {
    let agent = caller.agent(&app, &agent_id).await?;
    let reason = body.reason.unwrap_or_default();
    let started = actions::start_break(
        app.store.as_ref(),
        &agent,
        &reason,
        caller.actor,
        caller.now,
    )
    .await?;
    Ok(created(started.detail(caller.now)))
}

pub async fn end_break(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<BreakDetail>> {
    let agent = caller.agent(&app, &agent_id).await?;
    let ended = actions::end_break(app.store.as_ref(), &agent, caller.actor, caller.now).await?;
    Ok(ok(ended.detail(caller.now)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewWrapUp {
    call_id: Option<String>,
    #[serde(default)]
    c_number: String,
    /// Overrides the agent's wrap-up length for this call.
    seconds: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WrapView {
    call_id: String,
    c_number: String,
    mode: String,
    started_at: i64,
    /// Unix seconds when it ends (null when untimed).
    wrap_e_time: Option<i64>,
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
pub async fn start_wrap_up(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    JsonBody(body): JsonBody<NewWrapUp>,
) -> RestResult<Answer<WrapView>> {
    let agent = caller.agent(&app, &agent_id).await?;
    if body.seconds.is_some_and(|s| s < 0) {
        return Err(RestError(ApiError::InvalidParams));
    }
    let call_id = body.call_id.unwrap_or_default();
    let wrap = actions::start_wrap_up(
        app.store.as_ref(),
        &caller.account,
        &agent,
        &call_id,
        &body.c_number,
        body.seconds,
        caller.actor,
        caller.now,
    )
    .await?;
    Ok(created(wrap.into()))
}

/// Ends the agent's wrap-up; a supervisor may end a forced one.
pub async fn end_wrap_up(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<WrapView>> {
    let agent = caller.agent(&app, &agent_id).await?;
    let supervisor = true;
    let ended = actions::end_wrap_up(
        app.store.as_ref(),
        &agent,
        caller.actor,
        caller.now,
        supervisor,
    )
    .await?;
    Ok(ok(ended.into()))
}
