//! `/v1/events` and `/v1/agents/{agentId}/events`: the history, by time range, with a cursor.

use axum::extract::{Path, State};
use serde::Deserialize;

use super::{Answer, Caller, Page, Paged, QueryParams, RestError, RestResult, ok};
use crate::api::error::ApiError;
use crate::app::AppState;
use crate::domain::Event;
use crate::store::EventQuery;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Range {
    /// Unix seconds, inclusive.
    from: Option<i64>,
    /// Unix seconds, exclusive.
    to: Option<i64>,
    agent_id: Option<String>,
    // Not `#[serde(flatten)] Page`: flattening breaks number parsing in query strings.
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn events(
    app: &AppState,
    caller: &Caller,
    agent_id: Option<&str>,
    range: &Range,
) -> RestResult<Answer<Paged<Event>>> {
    let (from, to) = (range.from.unwrap_or(0), range.to.unwrap_or(i64::MAX));
    if from > to {
        return Err(RestError(ApiError::InvalidParams));
    }
    let agent_pk = match agent_id {
        Some(id) => Some(caller.agent(app, id).await?.id),
        None => None,
    };
    // A timed wrap-up that ran out is recorded as ended (at its own time) before reading.
    app.store
        .close_expired_wrap_ups(caller.account.id, caller.now)
        .await?;
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
    };
    let items = app.store.events(&query).await?;
    Ok(ok(Paged::new(items, limit, |e: &Event| e.id)))
}

pub async fn account_events(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(range): QueryParams<Range>,
) -> RestResult<Answer<Paged<Event>>> {
    events(&app, &caller, range.agent_id.as_deref(), &range).await
}

pub async fn agent_events(
    State(app): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    QueryParams(range): QueryParams<Range>,
) -> RestResult<Answer<Paged<Event>>> {
    events(&app, &caller, Some(&agent_id), &range).await
}
