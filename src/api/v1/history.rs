//! `/v1/events` and `/v1/agents/{agentId}/events`: the history, by time range, with a cursor.

use serde::Deserialize;
use utoipa::IntoParams;

use super::{AgentPath, Caller, Page, Paged, QueryParams, Rest, RestError, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{Event, EventQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agent_events))
        .routes(routes!(account_events))
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct Range {
    /// Unix seconds, inclusive (default: the beginning).
    from: Option<i64>,
    /// Unix seconds, exclusive (default: no end).
    to: Option<i64>,
    /// Only this agent's events.
    agent_id: Option<String>,
    // Not `#[serde(flatten)] Page`: flattening breaks number parsing in query strings.
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Where the page starts: the `nextCursor` of the previous page.
    cursor: Option<String>,
}

async fn events(caller: &Caller, agent_id: Option<&str>, range: &Range) -> Rest<Paged<Event>> {
    let (from, to) = (range.from.unwrap_or(0), range.to.unwrap_or(i64::MAX));
    if from > to {
        return Err(RestError(ApiError::InvalidParams));
    }
    let agent_pk = match agent_id {
        Some(id) => Some(caller.agent(id).await?.id),
        None => None,
    };
    let page = Page {
        limit: range.limit,
        cursor: range.cursor.clone(),
    };
    let limit = page.limit()?;
    let query = EventQuery {
        account_pk: caller.account.id,
        agent_pk,
        from,
        to,
        after: page.after()?,
        limit,
        newest_first: false,
    };
    let items = caller.service().events(&query, caller.now).await?;
    Ok(ok(Paged::new(items, limit, |e: &Event| e.id)))
}

/// The account's history: every state change, with who caused it, oldest first.
#[utoipa::path(get, path = "/v1/events", operation_id = "listEvents",
    params(Range),
    responses(
        (status = 200, body = SuccessEnvelope<Paged<Event>>, description = "A page of events"),
        (status = 404, body = ErrorEnvelope, description = "1512: `agentId` names no agent of this account"),
        (status = 422, body = ErrorEnvelope,
            description = "1000 `from` after `to`, or a `limit` or `cursor` out of range; 1001 not a number"),
    ),
)]
pub async fn account_events(
    caller: Caller,
    QueryParams(range): QueryParams<Range>,
) -> Rest<Paged<Event>> {
    events(&caller, range.agent_id.as_deref(), &range).await
}

/// One agent's history, oldest first.
#[utoipa::path(get, path = "/v1/agents/{agent_id}/events", operation_id = "listAgentEvents",
    params(
        ("agent_id" = String, Path, description = "The agent's `agentId`"),
        ("from" = Option<i64>, Query, description = "Unix seconds, inclusive (default: the beginning)"),
        ("to" = Option<i64>, Query, description = "Unix seconds, exclusive (default: no end)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500,
            description = "Items per page, 1 to 500 (default 50)"),
        ("cursor" = Option<String>, Query,
            description = "Where the page starts: the `nextCursor` of the previous page"),
    ),
    responses(
        (status = 200, body = SuccessEnvelope<Paged<Event>>, description = "A page of events"),
        (status = 422, body = ErrorEnvelope,
            description = "1000 `from` after `to`, or a `limit` or `cursor` out of range; 1001 not a number"),
    ),
)]
pub async fn agent_events(
    at: AgentPath,
    QueryParams(range): QueryParams<Range>,
) -> Rest<Paged<Event>> {
    events(&at.caller, Some(&at.agent_id), &range).await
}
