//! The management API for the telephony backend and supervisors: JSON under `/v1`,
//! authenticated by the account's API token (`Authorization: Bearer …`), real HTTP
//! status codes, and the same envelope as the upstream surface.

mod account;
mod agents;
mod calls;
mod history;
mod reasons;
mod reports;
mod roster;
mod states;
mod stream;
mod tags;
mod tokens;
mod webhooks;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::auth::bearer;
use super::credentials::{Credential, authenticate};
use super::envelope::success_response;
use super::error::ApiError;
use super::params::read_body;
use crate::api::AppState;
use crate::domain::{Account, Act, Actor, Agent, Scope, Token, now_unix};
use crate::service::Service;

/// The routes and their OpenAPI description, from the handlers' `#[utoipa::path]` (each
/// handler's method and path are taken from there, for the router and the description alike).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(account::routes())
        .merge(agents::routes())
        .merge(states::routes())
        .merge(calls::routes())
        .merge(history::routes())
        .merge(reasons::routes())
        .merge(reports::routes())
        .merge(roster::routes())
        .merge(stream::routes())
        .merge(tags::routes())
        .merge(tokens::routes())
        .merge(webhooks::routes())
}

/// An error of the management API: the envelope with a real HTTP status.
#[derive(Debug)]
pub struct RestError(pub ApiError);

impl<E: Into<ApiError>> From<E> for RestError {
    fn from(err: E) -> Self {
        RestError(err.into())
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let status = self.0.rest_status();
        self.0.into_response_with(status)
    }
}

pub type RestResult<T> = Result<T, RestError>;

/// What a `/v1` handler answers: a success envelope with its status, or the error.
pub type Rest<T> = RestResult<Answer<T>>;

/// A success envelope with a chosen status (200, or 201 for something created).
pub struct Answer<T>(pub StatusCode, pub T);

pub fn ok<T>(data: T) -> Answer<T> {
    Answer(StatusCode::OK, data)
}

pub fn created<T>(data: T) -> Answer<T> {
    Answer(StatusCode::CREATED, data)
}

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        success_response(self.0, self.1)
    }
}

/// The account an API token belongs to: who calls.
pub struct Caller {
    pub app: AppState,
    pub account: std::sync::Arc<Account>,
    /// The token it called with.
    pub token: Token,
    pub actor: Actor,
    pub now: i64,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, RestError> {
        let token = bearer(&parts.headers).ok_or(ApiError::InvalidToken)?;
        let credential = Credential::Bearer(token.to_owned());
        let caller =
            Caller::authenticate(app, &parts.headers, &parts.extensions, &credential).await?;
        let route = parts.extensions.get::<MatchedPath>();
        if caller.token.scope < scope_of(&parts.method, route.map_or("", MatchedPath::as_str)) {
            return Err(ApiError::OutOfScope.into());
        }
        Ok(caller)
    }
}

/// What a token must be allowed to do to call this route. A route not named here needs
/// `admin`: a new route is closed until it is placed.
pub fn scope_of(method: &Method, route: &str) -> Scope {
    match (method.as_str(), route) {
        (
            "GET",
            "/v1/tokens"
            | "/v1/webhooks"
            | "/v1/webhooks/{webhook_id}"
            | "/v1/webhooks/{webhook_id}/deliveries",
        ) => Scope::Admin,
        ("GET", _) | ("POST", "/v1/stream/tickets") => Scope::Read,
        (
            "POST" | "DELETE",
            "/v1/agents/{agent_id}/sessions"
            | "/v1/agents/{agent_id}/break"
            | "/v1/agents/{agent_id}/wrap-up"
            | "/v1/agents/{agent_id}/call",
        )
        | (
            "POST",
            "/v1/sessions/logout"
            | "/v1/agents/{agent_id}/disable"
            | "/v1/agents/{agent_id}/enable"
            | "/v1/agents/{agent_id}/tags",
        ) => Scope::Supervise,
        _ => Scope::Admin,
    }
}

impl Caller {
    /// The one door for what the caller asks.
    pub fn service(&self) -> &Service {
        &self.app.service
    }

    /// The caller a bearer token or a stream ticket names (any scope).
    pub async fn authenticate(
        app: &AppState,
        headers: &HeaderMap,
        extensions: &Extensions,
        credential: &Credential,
    ) -> RestResult<Caller> {
        let address = app.guard.address(headers, extensions);
        let now = now_unix();
        let who = authenticate(app, address, credential, now).await?;
        Ok(Caller {
            app: app.clone(),
            account: who.account,
            token: who.token.expect("a token or a ticket names its token"),
            actor: who.actor,
            now,
        })
    }

    /// Who acts, and when.
    pub fn act(&self) -> Act {
        Act {
            actor: self.actor,
            now: self.now,
        }
    }

    /// One of the caller's agents (404 for an agent of another account, as for none).
    pub async fn agent(&self, agent_id: &str) -> RestResult<Agent> {
        Ok(self.service().agent(&self.account, agent_id).await?)
    }
}

/// A caller and the `{agent_id}` of the path it names (resolved by [`AgentPath::agent`], after
/// the body has been read, so that a bad body answers before an unknown agent).
pub struct AgentPath {
    pub caller: Caller,
    pub agent_id: String,
}

impl std::ops::Deref for AgentPath {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl FromRequestParts<AppState> for AgentPath {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, RestError> {
        let caller = Caller::from_request_parts(parts, app).await?;
        let Path(agent_id) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| RestError(ApiError::InvalidRequest))?;
        Ok(AgentPath { caller, agent_id })
    }
}

impl AgentPath {
    /// The caller's agent of this id (404 for an agent of another account, as for none).
    pub async fn agent(&self) -> RestResult<Agent> {
        self.caller.agent(&self.agent_id).await
    }
}

/// A JSON body, whatever the Content-Type; an empty body reads as `{}`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = RestError;

    async fn from_request(req: Request, state: &S) -> Result<Self, RestError> {
        let bytes = read_body(req, state).await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::InvalidRequest)?;
        let text = if text.trim().is_empty() { "{}" } else { text };
        // serde would read a struct from an array too (`[null, null]`): objects only.
        if !text.trim_start().starts_with('{') {
            return Err(RestError(ApiError::InvalidRequest));
        }
        serde_json::from_str(text).map(JsonBody).map_err(|err| {
            RestError(match err.classify() {
                serde_json::error::Category::Data => ApiError::InvalidType,
                _ => ApiError::InvalidRequest,
            })
        })
    }
}

/// Query-string parameters; a value of the wrong type answers 1001.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, RestError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryParams(q))
            .map_err(|_| RestError(ApiError::InvalidType))
    }
}

/// `?limit=&cursor=` of list endpoints. The cursor is opaque to clients: pass back `nextCursor`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// Where the page starts: the `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl Page {
    pub const DEFAULT: i64 = 50;
    pub const MAX: i64 = 500;

    pub fn limit(&self) -> RestResult<i64> {
        match self.limit {
            None => Ok(Page::DEFAULT),
            Some(n) if (1..=Page::MAX).contains(&n) => Ok(n),
            Some(_) => Err(RestError(ApiError::InvalidParams)),
        }
    }

    /// The position after which the page starts (0: the beginning).
    pub fn after(&self) -> RestResult<i64> {
        match self.cursor.as_deref() {
            None | Some("") => Ok(0),
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(RestError(ApiError::InvalidParams)),
        }
    }
}

/// A page of items and the cursor of the next page (null at the end).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass it back as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// `position` gives an item's cursor; a full page may have a next one.
    pub fn new(items: Vec<T>, limit: i64, position: impl Fn(&T) -> i64) -> Paged<T> {
        let next_cursor = if items.len() as i64 == limit {
            items.last().map(|last| position(last).to_string())
        } else {
            None
        };
        Paged { items, next_cursor }
    }
}

/// For PATCH fields where `null` means "clear" and absence means "keep":
/// absent → None, null → Some(None), value → Some(Some(v)).
pub fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}
