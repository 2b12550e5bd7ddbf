//! The one authentication extractor every upstream route shares.
//!
//! Checks run in the contract's order: 1047/1001 (cannot read) → 1505 (missing) →
//! 1000/1014/1039 (authentication) → 1501 (agent match). The route's own checks follow
//! in its handler.

use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use super::credentials::{AuthError, Credential, authenticate};
use super::error::ApiError;
use super::params::Params;
use super::state::AppState;
use crate::domain::{Account, Act, Actor, Agent, Scope, now_unix};

/// The token of an `Authorization: Bearer <token>` header, if there is a non-empty one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// What differs between routes in authentication.
pub trait Route: Send + Sync + 'static {
    /// Route parameters that must be present (reported with the auth ones in 1505).
    const REQUIRED: &'static [&'static str] = &[];

    /// What a token must be allowed to do here (a session acts for its own agent).
    const SCOPE: Scope = Scope::Read;

    /// The answer for an unknown, expired or logged-out `ssid`.
    fn bad_ssid() -> ApiError {
        ApiError::InvalidParams
    }

    /// Type checks of route parameters, answered 1001 before anything else is checked.
    fn check_types(_params: &Params) -> Result<(), ApiError> {
        Ok(())
    }
}

/// An authenticated request for one agent, by its session or by an account token.
pub struct AgentRequest<R> {
    pub app: AppState,
    pub params: Params,
    pub account: std::sync::Arc<Account>,
    pub agent: std::sync::Arc<Agent>,
    /// The session the request came through (None with token authentication).
    pub session_pk: Option<i64>,
    /// Who acts: the agent's session, or the account token.
    pub actor: Actor,
    /// The server's clock when the request was read.
    pub now: i64,
    route: PhantomData<fn() -> R>,
}

impl<R: Route> AgentRequest<R> {
    /// Who acts, and when.
    pub fn act(&self) -> Act {
        Act {
            actor: self.actor,
            now: self.now,
        }
    }

    /// A change refused because the agent was disabled meanwhile: through a session, that is
    /// the answer an old ssid of a disabled agent gets.
    pub fn refused(&self, err: impl Into<ApiError>) -> ApiError {
        match err.into() {
            ApiError::AgentDisabled if self.session_pk.is_some() => R::bad_ssid(),
            other => other,
        }
    }
}

/// The four credential parameters as sent.
struct Given {
    ssid: Option<String>,
    user_id: Option<String>,
    token: Option<String>,
    agent_id: Option<String>,
}

impl Given {
    fn read(params: &Params) -> Result<Given, ApiError> {
        Ok(Given {
            ssid: params.string("ssid")?,
            user_id: params.id("userId")?,
            token: params.string("token")?,
            agent_id: params.id("agentId")?,
        })
    }

    /// The names a 1505 lists: `ssid` when nothing authenticates, else what a token lacks.
    fn missing(&self) -> Vec<&'static str> {
        if self.ssid.is_some() {
            return vec![];
        }
        if self.user_id.is_none() && self.token.is_none() {
            return vec!["ssid"];
        }
        [
            ("userId", self.user_id.is_none()),
            ("token", self.token.is_none()),
            ("agentId", self.agent_id.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect()
    }

    /// The credential, once nothing is missing. Upstream: "when userId and token are used,
    /// ssid should not be present" (1000).
    fn credential(self) -> Result<Credential, ApiError> {
        match self {
            Given {
                ssid: Some(ssid),
                user_id: None,
                token: None,
                agent_id,
            } => Ok(Credential::Session { ssid, agent_id }),
            Given {
                ssid: None,
                user_id: Some(user_id),
                token: Some(token),
                agent_id: Some(agent_id),
            } => Ok(Credential::AgentToken {
                user_id,
                token,
                agent_id,
            }),
            _ => Err(ApiError::InvalidParams),
        }
    }
}

impl<R: Route> FromRequest<AppState> for AgentRequest<R> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Self::Rejection> {
        let address = app.guard.address(req.headers(), req.extensions());
        let params = Params::from_request(req, app).await?;
        let given = Given::read(&params)?;
        R::check_types(&params)?;

        let mut missing = given.missing();
        missing.extend(R::REQUIRED.iter().filter(|name| !params.has(name)));
        if !missing.is_empty() {
            return Err(ApiError::Missing(missing));
        }
        let credential = given.credential()?;

        let now = now_unix();
        let who = authenticate(app, address, &credential, now)
            .await
            .map_err(|err| match err {
                AuthError::BadSession => R::bad_ssid(),
                other => other.into(),
            })?;
        if who
            .token
            .as_ref()
            .is_some_and(|token| token.scope < R::SCOPE)
        {
            return Err(ApiError::OutOfScope);
        }
        Ok(AgentRequest {
            app: app.clone(),
            params,
            account: who.account,
            agent: who
                .agent
                .expect("a session or an agent token names its agent"),
            session_pk: who.session_pk,
            actor: who.actor,
            now,
            route: PhantomData,
        })
    }
}

/// Each surface's answer but the upstream routes' bad session (the route's own).
impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Throttled(secs) => ApiError::Throttled(secs),
            AuthError::BadSession => ApiError::InvalidParams,
            AuthError::BadToken => ApiError::InvalidToken,
            AuthError::Suspended => ApiError::Suspended,
            AuthError::AgentMismatch => ApiError::AgentMismatch,
            AuthError::AgentDisabled => ApiError::AgentDisabled,
            AuthError::Service(err) => err.into(),
        }
    }
}

// The descriptions of the credentials for the OpenAPI document: the extractor above reads
// them from `Params`, whatever the Content-Type.

/// Authentication by an agent's login session.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(title = "By session")]
pub struct SessionAuth {
    /// The agent's login session. Unknown, expired or logged out: 1000 (1503 on
    /// `setWebPingTime`). Never together with `userId` or `token` (1000).
    ssid: String,
    /// Optional: when given, it must be the session's own agent (1501 otherwise).
    #[schema(schema_with = string_or_integer)]
    agent_id: Option<String>,
}

/// Authentication by an account API token, naming the agent.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(title = "By account token")]
pub struct TokenAuth {
    /// The account (upstream `userId`).
    #[schema(schema_with = string_or_integer)]
    user_id: String,
    /// An API token of that account. Not valid: 1014; account suspended: 1039.
    token: String,
    /// Required with a token (1505 without it). Not an agent of that account: 1501; disabled:
    /// 1510.
    #[schema(schema_with = string_or_integer)]
    agent_id: String,
}

/// `ssid`, **or** `userId` + `token` + `agentId`, never both; in the body (JSON or form) or in
/// the query string (a body field wins over a query field of the same name). `null` and `""`
/// count as absent. Missing: 1505 naming them; a wrong type: 1001.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum Credentials {
    Session(SessionAuth),
    Token(TokenAuth),
}

/// A parameter upstream clients send as any of these JSON types.
pub fn one_of_types(types: &[Type], example: serde_json::Value) -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(types.to_vec()))
        .examples([example])
        .build()
}

pub fn string_or_integer() -> Object {
    one_of_types(&[Type::String, Type::Integer], json!("7"))
}
