//! The one authentication extractor every upstream route shares.
//!
//! Checks run in the contract's order: 1047/1001 (cannot read) → 1505 (missing) →
//! 1000/1014/1039 (authentication) → 1501 (agent match). The route's own checks follow
//! in its handler.

use std::marker::PhantomData;

use axum::extract::{FromRequest, Request};

use super::error::ApiError;
use super::params::Params;
use crate::app::AppState;
use crate::domain::{Account, Actor, Agent, now_unix};
use crate::secrets;

/// What differs between routes in authentication.
pub trait Route: Send + Sync + 'static {
    /// Route parameters that must be present (reported with the auth ones in 1505).
    const REQUIRED: &'static [&'static str] = &[];

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
    pub params: Params,
    pub account: Account,
    pub agent: Agent,
    /// The session the request came through (None with token authentication).
    pub session_pk: Option<i64>,
    /// Who acts: the agent's session, or the account token.
    pub actor: Actor,
    /// The server's clock when the request was read.
    pub now: i64,
    route: PhantomData<fn() -> R>,
}

impl<R: Route> AgentRequest<R> {
    /// A change refused because the agent was disabled meanwhile: through a session, that is
    /// the answer an old ssid of a disabled agent gets.
    pub fn refused(&self, err: impl Into<ApiError>) -> ApiError {
        match err.into() {
            ApiError::AgentDisabled if self.session_pk.is_some() => R::bad_ssid(),
            other => other,
        }
    }
}

struct Credentials {
    ssid: Option<String>,
    user_id: Option<String>,
    token: Option<String>,
    agent_id: Option<String>,
}

impl Credentials {
    fn read(params: &Params) -> Result<Credentials, ApiError> {
        Ok(Credentials {
            ssid: params.string("ssid")?,
            user_id: params.id("userId")?,
            token: params.string("token")?,
            agent_id: params.id("agentId")?,
        })
    }

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
}

impl<R: Route> FromRequest<AppState> for AgentRequest<R> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Self::Rejection> {
        let params = Params::from_request(req, app).await?;
        let creds = Credentials::read(&params)?;
        R::check_types(&params)?;

        let mut missing = creds.missing();
        missing.extend(R::REQUIRED.iter().filter(|name| !params.has(name)));
        if !missing.is_empty() {
            return Err(ApiError::Missing(missing));
        }

        let now = now_unix();
        let (account, agent, session_pk, actor) = match creds {
            Credentials {
                ssid: Some(ssid),
                user_id: None,
                token: None,
                agent_id,
            } => {
                let found = app.store.session(&secrets::hash(&ssid)).await?;
                // A disabled agent's sessions were ended; an old ssid of theirs is just invalid.
                let ctx = found
                    .filter(|c| c.session.is_live(now, app.config.session_idle_timeout_secs))
                    .filter(|c| !c.agent.disabled)
                    .ok_or_else(R::bad_ssid)?;
                if ctx.account.suspended {
                    return Err(ApiError::Suspended);
                }
                if agent_id.is_some_and(|id| id != ctx.agent.agent_id) {
                    return Err(ApiError::AgentMismatch);
                }
                let session_pk = ctx.session.id;
                (
                    ctx.account,
                    ctx.agent,
                    Some(session_pk),
                    Actor::Session(session_pk),
                )
            }
            // Upstream: "when userId and token are used, ssid should not be present".
            Credentials { ssid: Some(_), .. } => return Err(ApiError::InvalidParams),
            Credentials {
                user_id: Some(user_id),
                token: Some(token),
                agent_id: Some(agent_id),
                ..
            } => {
                let (account, token_pk) = app
                    .store
                    .token_account(&secrets::hash(&token))
                    .await?
                    .filter(|(account, _)| account.user_id == user_id)
                    .ok_or(ApiError::InvalidToken)?;
                if account.suspended {
                    return Err(ApiError::Suspended);
                }
                // Unknown here and "belongs to another account" answer alike.
                let agent = app
                    .store
                    .agent(account.id, &agent_id)
                    .await?
                    .ok_or(ApiError::AgentMismatch)?;
                if agent.disabled {
                    return Err(ApiError::AgentDisabled);
                }
                (account, agent, None, Actor::Token(token_pk))
            }
            _ => unreachable!("missing credentials were answered with 1505"),
        };

        Ok(AgentRequest {
            params,
            account,
            agent,
            session_pk,
            actor,
            now,
            route: PhantomData,
        })
    }
}
