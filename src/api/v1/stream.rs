//! `GET /v1/stream`: the account's events as Server-Sent Events, live from every instance,
//! resumable by event id; and `POST /v1/stream/tickets`, for browsers, whose `EventSource`
//! cannot send an `Authorization` header.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Caller, QueryParams, Rest, RestResult, created};
use crate::api::AppState;
use crate::api::auth::bearer;
use crate::api::credentials::Credential;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::service::{EventStream, StreamRefusal};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A comment this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stream))
        .routes(routes!(create_ticket))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// Pass it as `GET /v1/stream?ticket=…`, once.
    ticket: String,
    /// Unix seconds after which it is refused.
    expires_at: i64,
}

/// A single-use ticket that opens one stream (for `EventSource`, which cannot send headers).
#[utoipa::path(post, path = "/v1/stream/tickets", operation_id = "createStreamTicket",
    responses(
        (status = 201, body = SuccessEnvelope<Ticket>, description = "The ticket, valid 30 s"),
        (status = 401, body = ErrorEnvelope, description = "1014: a missing or bad bearer token"),
    ),
)]
pub async fn create_ticket(caller: Caller) -> Rest<Ticket> {
    let (ticket, expires_at) = caller
        .service()
        .create_ticket(caller.token.id, caller.now)
        .await?;
    Ok(created(Ticket { ticket, expires_at }))
}

/// One message of the stream as an SSE client reads it (the schema of each message, not of
/// the whole body).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SseMessage {
    /// The event id: resume after it with `Last-Event-ID`.
    id: Option<String>,
    /// `message`.
    event: Option<String>,
    /// The event, as JSON (an `Event`, live ones with `agent`).
    data: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// A ticket from `POST /v1/stream/tickets`, instead of the `Authorization` header.
    ticket: Option<String>,
    /// Resume after this event id (the `Last-Event-ID` header wins when both are sent).
    last_event_id: Option<String>,
    /// Only this agent's events.
    agent_id: Option<String>,
}

/// The account's events as they commit (`text/event-stream`): each an SSE message with the
/// event id as `id` and the event as `data` (live ones with `agent`, its roster entry after
/// the change). With `Last-Event-ID` (header or `?lastEventId=`), first every event after
/// that id, then live ones, none twice. A comment every 15 s keeps it open. The server ends
/// a stream whose client does not keep up, or when its change feed is lost: resume by id.
#[utoipa::path(get, path = "/v1/stream", operation_id = "stream",
    params(
        StreamParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, content_type = "text/event-stream", body = SseMessage,
            description = "The stream: `id: N` and `data: {event}` per event"),
        (status = 401, body = ErrorEnvelope,
            description = "1014: no bearer token or ticket, or a bad, used or expired one"),
        (status = 404, body = ErrorEnvelope, description = "1512: `agentId` names no agent of this account"),
        (status = 422, body = ErrorEnvelope, description = "1000: a last event id that is not a number"),
        (status = 429, body = ErrorEnvelope, description = "1514: too many streams open for the account"),
        (status = 503, body = ErrorEnvelope,
            description = "1010: the change feed is down, so a stream could miss events"),
    ),
)]
pub async fn stream(
    State(app): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    QueryParams(params): QueryParams<StreamParams>,
) -> RestResult<Response> {
    // Every scope may read the stream.
    let credential = match (params.ticket, bearer(&headers)) {
        (Some(ticket), _) => Credential::Ticket(ticket),
        (None, Some(token)) => Credential::Bearer(token.to_owned()),
        (None, None) => return Err(ApiError::InvalidToken.into()),
    };
    let Caller { account, .. } =
        Caller::authenticate(&app, &headers, &extensions, &credential).await?;
    let service = &app.service;
    let last = match headers.get("last-event-id") {
        Some(header) => Some(
            header
                .to_str()
                .map_err(|_| ApiError::InvalidParams)?
                .to_owned(),
        ),
        None => params.last_event_id,
    };
    let after = match last.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(
            id.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(ApiError::InvalidParams)?,
        ),
    };
    let agent_pk = match params.agent_id.as_deref() {
        Some(id) => Some(service.agent(&account, id).await?.id),
        None => None,
    };
    let events = service
        .open_stream(account.id, agent_pk, after)
        .await?
        .map_err(|refusal| match refusal {
            StreamRefusal::NotLive => ApiError::DbUnavailable,
            StreamRefusal::TooMany => ApiError::TooManyStreams,
        })?;
    let sse = Sse::new(messages(events)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE));
    let mut response = sse.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx would otherwise buffer the stream.
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// The stream's SSE messages: first how long `EventSource` should wait before it
/// reconnects, and a comment, so that clients and proxies see the stream open at once; then
/// the events.
fn messages(
    events: EventStream,
) -> impl futures_util::Stream<Item = Result<SseEvent, Infallible>> + Send {
    let open = SseEvent::default()
        .retry(Duration::from_secs(2))
        .comment("open");
    let events = futures_util::stream::unfold(events, |mut events| async move {
        let next = events.next().await?;
        let message = SseEvent::default().id(next.id.to_string()).data(&next.data);
        Some((Ok(message), events))
    });
    futures_util::StreamExt::chain(futures_util::stream::once(async { Ok(open) }), events)
}
