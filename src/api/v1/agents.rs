//! `/v1/agents`: create, list, show, update, disable and enable agents.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AgentPath, Caller, JsonBody, Page, Paged, QueryParams, Rest, created, nullable, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::ErrorEnvelope;
use crate::domain::{self, Account, Agent, AgentUpdate, WrapMode};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update))
        .routes(routes!(disable))
        .routes(routes!(enable))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentView {
    /// The upstream `agentId`, unique in the account.
    agent_id: String,
    name: String,
    /// The agent's own wrap-up settings (null: the account's apply).
    wrap_seconds: Option<i64>,
    wrap_mode: Option<WrapMode>,
    /// The policy in force.
    effective_wrap: EffectiveWrap,
    disabled: bool,
    #[serde(skip)]
    pk: i64,
}

#[derive(Serialize, ToSchema)]
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

/// The account's agents, a page at a time.
#[utoipa::path(get, path = "/v1/agents", operation_id = "listAgents",
    params(Page),
    responses(
        (status = 200, body = SuccessEnvelope<Paged<AgentView>>, description = "A page of agents"),
        (status = 422, body = ErrorEnvelope, description = "1000 a `limit` or `cursor` out of range; 1001 not a number"),
    ),
)]
pub async fn list(caller: Caller, QueryParams(page): QueryParams<Page>) -> Rest<Paged<AgentView>> {
    let limit = page.limit()?;
    let agents = caller
        .service()
        .agents(&caller.account, page.after()?, limit)
        .await?;
    let views = agents
        .into_iter()
        .map(|a| AgentView::new(a, &caller.account))
        .collect();
    Ok(ok(Paged::new(views, limit, |v: &AgentView| v.pk)))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewAgent)]
pub struct AgentBody {
    /// Required (1505 without it): a string or an integer (0 up to 2^64 - 1: wider than
    /// `IdValue`'s own int64 would say).
    #[schema(required, schema_with = crate::api::auth::string_or_integer)]
    agent_id: Option<IdValue>,
    #[serde(default)]
    name: String,
    /// Overrides the account's wrap-up length (seconds, 0 or more).
    #[schema(minimum = 0)]
    wrap_seconds: Option<i64>,
    /// Overrides the account's wrap-up mode.
    wrap_mode: Option<WrapMode>,
}

/// Agent ids arrive as strings or integers, as on the upstream surface.
#[derive(Deserialize, ToSchema)]
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

/// Creates an agent.
#[utoipa::path(post, path = "/v1/agents", operation_id = "createAgent", request_body = AgentBody,
    responses(
        (status = 201, body = SuccessEnvelope<AgentView>, description = "The agent created"),
        (status = 409, body = ErrorEnvelope, description = "1513: the `agentId` is taken"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `agentId`; 1000 a negative `wrapSeconds`"),
    ),
)]
pub async fn create(caller: Caller, JsonBody(new): JsonBody<AgentBody>) -> Rest<AgentView> {
    let new = domain::NewAgent {
        agent_id: new.agent_id.map(IdValue::into_string).unwrap_or_default(),
        name: new.name,
        wrap_seconds: new.wrap_seconds,
        wrap_mode: new.wrap_mode,
    };
    let agent = caller.service().create_agent(&caller.account, new).await?;
    Ok(created(AgentView::new(agent, &caller.account)))
}

/// One agent.
#[utoipa::path(get, path = "/v1/agents/{agent_id}", operation_id = "getAgent",
    responses((status = 200, body = SuccessEnvelope<AgentView>, description = "The agent")),
)]
pub async fn show(at: AgentPath) -> Rest<AgentView> {
    let agent = at.agent().await?;
    Ok(ok(AgentView::new(agent, &at.caller.account)))
}

/// Absent fields are kept; `null` clears an override (the account's policy applies).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentPatch {
    name: Option<String>,
    #[schema(value_type = Option<i64>, minimum = 0)]
    #[serde(default, deserialize_with = "nullable")]
    wrap_seconds: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<WrapMode>)]
    wrap_mode: Option<Option<WrapMode>>,
}

/// Changes an agent's name or wrap-up overrides.
#[utoipa::path(patch, path = "/v1/agents/{agent_id}", operation_id = "updateAgent",
    request_body = AgentPatch,
    responses(
        (status = 200, body = SuccessEnvelope<AgentView>, description = "The agent"),
        (status = 422, body = ErrorEnvelope, description = "1000 a negative `wrapSeconds`"),
    ),
)]
pub async fn update(at: AgentPath, JsonBody(patch): JsonBody<AgentPatch>) -> Rest<AgentView> {
    let agent = at.agent().await?;
    let update = AgentUpdate {
        name: patch.name,
        wrap_seconds: patch.wrap_seconds,
        wrap_mode: patch.wrap_mode,
    };
    let agent = at.service().update_agent(&agent, update).await?;
    Ok(ok(AgentView::new(agent, &at.caller.account)))
}

async fn set_disabled(at: AgentPath, disabled: bool) -> Rest<AgentView> {
    let agent = at.agent().await?;
    let changed = at
        .service()
        .set_agent_disabled(&agent, disabled, at.caller.act());
    Ok(ok(AgentView::new(changed.await?, &at.caller.account)))
}

/// Disables an agent: logs them out and ends their break and wrap-up.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/disable", operation_id = "disableAgent",
    responses((status = 200, body = SuccessEnvelope<AgentView>, description = "The agent")),
)]
pub async fn disable(at: AgentPath) -> Rest<AgentView> {
    set_disabled(at, true).await
}

/// Enables a disabled agent.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/enable", operation_id = "enableAgent",
    responses((status = 200, body = SuccessEnvelope<AgentView>, description = "The agent")),
)]
pub async fn enable(at: AgentPath) -> Rest<AgentView> {
    set_disabled(at, false).await
}
