//! `/v1/agents`: create, list, show, update, disable and enable agents.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::{
    Answer, Caller, JsonBody, Page, Paged, QueryParams, RestError, RestResult, created, nullable,
    ok,
};
use crate::actions;
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::domain::{Account, Agent, WrapMode};
use crate::store::{AgentUpdate, StoreError};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    agent_id: String,
    name: String,
    /// The agent's own wrap-up settings (null: the account's apply).
    wrap_seconds: Option<i64>,
    wrap_mode: Option<String>,
    /// The policy in force.
    effective_wrap: EffectiveWrap,
    disabled: bool,
    #[serde(skip)]
    pk: i64,
}

#[derive(Serialize)]
pub struct EffectiveWrap {
    seconds: i64,
    mode: WrapMode,
}

impl AgentView {
    pub fn new(agent: Agent, account: &Account) -> AgentView {
        let policy = agent.wrap_policy(account);
        AgentView {
            pk: agent.id,
            agent_id: agent.agent_id,
            name: agent.name,
            wrap_seconds: agent.wrap_seconds,
            wrap_mode: agent.wrap_mode,
            effective_wrap: EffectiveWrap {
                seconds: policy.seconds,
                mode: policy.mode,
            },
            disabled: agent.disabled,
        }
    }
}

pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(page): QueryParams<Page>,
) -> RestResult<Answer<Paged<AgentView>>> {
    let limit = page.limit()?;
    let agents = app
        .store
        .list_agents(caller.account.id, page.after()?, limit)
        .await?;
    let views = agents
        .into_iter()
        .map(|a| AgentView::new(a, &caller.account))
        .collect();
    Ok(ok(Paged::new(views, limit, |v: &AgentView| v.pk)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAgent {
    agent_id: Option<IdValue>,
    #[serde(default)]
    name: String,
    wrap_seconds: Option<i64>,
    wrap_mode: Option<WrapMode>,
}

/// Agent ids arrive as strings or integers, as on the upstream surface.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum IdValue {
    Text(String),
    Number(u64),
}

impl IdValue {
    fn into_string(self) -> String {
        match self {
            IdValue::Text(s) => s.trim().to_owned(),
            IdValue::Number(n) => n.to_string(),
        }
    }
}

pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(new): JsonBody<NewAgent>,
) -> RestResult<Answer<AgentView>> {
    let agent_id = new.agent_id.map(IdValue::into_string).unwrap_or_default();
    let agent_id = actions::non_empty("agentId", &agent_id)?;
    if new.wrap_seconds.is_some_and(|s| s < 0) {
        return Err(RestError(ApiError::InvalidParams));
    }
    let agent = match app
        .store
        .create_agent(
            caller.account.id,
            agent_id,
            new.name.trim(),
            new.wrap_seconds,
            new.wrap_mode,
            caller.now,
        )
        .await
    {
        Err(StoreError::Conflict) => return Err(RestError(ApiError::AlreadyExists)),
        other => other?,
    };
    Ok(created(AgentView::new(agent, &caller.account)))
}

pub async fn show(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<AgentView>> {
    let agent = caller.agent(&app, &agent_id).await?;
    Ok(ok(AgentView::new(agent, &caller.account)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPatch {
    name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    wrap_seconds: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    wrap_mode: Option<Option<WrapMode>>,
}

pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    JsonBody(patch): JsonBody<AgentPatch>,
) -> RestResult<Answer<AgentView>> {
    let agent = caller.agent(&app, &agent_id).await?;
    if patch.wrap_seconds.flatten().is_some_and(|s| s < 0) {
        return Err(RestError(ApiError::InvalidParams));
    }
    let update = AgentUpdate {
        name: patch.name.map(|n| n.trim().to_owned()),
        wrap_seconds: patch.wrap_seconds,
        wrap_mode: patch.wrap_mode,
    };
    let agent = app.store.update_agent(agent.id, &update).await?;
    Ok(ok(AgentView::new(agent, &caller.account)))
}

async fn set_disabled(
    app: &AppState,
    caller: &Caller,
    agent_id: &str,
    disabled: bool,
) -> RestResult<Answer<AgentView>> {
    let agent = caller.agent(app, agent_id).await?;
    let agent = app
        .store
        .set_agent_disabled(&agent, disabled, caller.actor, caller.now)
        .await?;
    Ok(ok(AgentView::new(agent, &caller.account)))
}

/// Disabling logs the agent out and ends their break and wrap-up.
pub async fn disable(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<AgentView>> {
    set_disabled(&app, &caller, &agent_id, true).await
}

pub async fn enable(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
) -> RestResult<Answer<AgentView>> {
    set_disabled(&app, &caller, &agent_id, false).await
}
