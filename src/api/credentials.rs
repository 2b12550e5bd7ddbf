//! The one authentication of every surface: upstream body credentials (an `ssid`, or
//! `userId` + `token` + `agentId`), `/v1` bearer tokens and stream tickets. The throttle's
//! steps are here once: a blocked client is refused before the lookup (unless only its
//! address is blocked and the credential is one the server knows to be valid), a guess counts
//! against it. Each surface maps the one [`AuthError`] to its own answer.

use std::net::IpAddr;
use std::sync::Arc;

use super::state::AppState;
use super::throttle::{Attempt, Blocked, Throttled};
use crate::domain::{Account, Actor, Agent, Token};
use crate::service::{Found, ServiceError};

/// What a request authenticates with.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An agent's login session (upstream `ssid`); when `agent_id` is given, it must be the
    /// session's own agent.
    Session {
        ssid: String,
        agent_id: Option<String>,
    },
    /// An account token for one of its agents (upstream `userId` + `token` + `agentId`).
    AgentToken {
        user_id: String,
        token: String,
        agent_id: String,
    },
    /// An account API token (`Authorization: Bearer …`).
    Bearer(String),
    /// A single-use stream ticket (`GET /v1/stream?ticket=…`).
    Ticket(String),
}

/// Who a request is.
#[derive(Debug)]
pub struct Authenticated {
    pub account: Arc<Account>,
    /// The agent a session or an agent token acts for.
    pub agent: Option<Arc<Agent>>,
    /// The token it came with (None with a session).
    pub token: Option<Token>,
    /// The session it came through (None with a token).
    pub session_pk: Option<i64>,
    pub actor: Actor,
}

/// Why it did not authenticate.
#[derive(Debug)]
pub enum AuthError {
    /// Too many failed attempts from this address or for this `userId`: seconds to wait.
    Throttled(u64),
    /// An unknown, expired or logged-out session.
    BadSession,
    /// An unknown, revoked or expired token or ticket, or a token of another account.
    BadToken,
    Suspended,
    /// The agent named is not the session's, or not the account's.
    AgentMismatch,
    /// The agent a token names is disabled.
    AgentDisabled,
    Service(ServiceError),
}

impl From<Throttled> for AuthError {
    fn from(Throttled(secs): Throttled) -> Self {
        AuthError::Throttled(secs)
    }
}

impl From<ServiceError> for AuthError {
    fn from(err: ServiceError) -> Self {
        AuthError::Service(err)
    }
}

/// The one way in: throttle check, lookup, a guess counted, then what the credential must
/// also satisfy (an active account; the agent it names).
pub async fn authenticate(
    app: &AppState,
    address: Option<IpAddr>,
    credential: &Credential,
    now: i64,
) -> Result<Authenticated, AuthError> {
    let user_id = match credential {
        Credential::AgentToken { user_id, .. } => Some(user_id.clone()),
        _ => None,
    };
    let attempt = Attempt { address, user_id };
    let service = &app.service;
    match app.guard.check(&attempt) {
        Ok(()) => {}
        // The office behind a guessing client's address: what is known is answered.
        Err(Blocked::Address(_)) if known(app, credential) => {}
        Err(blocked) => return Err(app.guard.refuse(blocked).into()),
    }
    let found = match credential {
        Credential::Session { ssid, .. } => service.live_session(ssid, now).await?.map(|s| {
            let session_pk = s.session.id;
            Authenticated {
                account: s.account,
                agent: Some(s.agent),
                token: None,
                session_pk: Some(session_pk),
                actor: Actor::Session(session_pk),
            }
        }),
        Credential::AgentToken { user_id, token, .. } => {
            match service.token_account(token, now).await? {
                // A token of another account is a guess at this one.
                Found::Valid((account, _)) if account.user_id != *user_id => Found::Unknown,
                found => found.map(by_token),
            }
        }
        Credential::Bearer(token) => service.token_account(token, now).await?.map(by_token),
        Credential::Ticket(ticket) => service.redeem_ticket(ticket, now).await?.map(by_token),
    };
    if found.is_guess() {
        app.guard.failed(&attempt)?;
    }
    let mut who = found.valid().ok_or(match credential {
        Credential::Session { .. } => AuthError::BadSession,
        _ => AuthError::BadToken,
    })?;
    if who.account.suspended {
        return Err(AuthError::Suspended);
    }
    if let Credential::Bearer(token) | Credential::AgentToken { token, .. } = credential {
        app.guard.remember_token(token);
    }
    match credential {
        Credential::Session {
            agent_id: Some(id), ..
        } if who
            .agent
            .as_ref()
            .is_some_and(|agent| agent.agent_id != *id) =>
        {
            return Err(AuthError::AgentMismatch);
        }
        Credential::AgentToken { agent_id, .. } => {
            // Unknown here and "belongs to another account" answer alike.
            let agent = match service.agent(&who.account, agent_id).await {
                Err(ServiceError::NotFound) => return Err(AuthError::AgentMismatch),
                found => found?,
            };
            if agent.disabled {
                return Err(AuthError::AgentDisabled);
            }
            who.agent = Some(Arc::new(agent));
        }
        _ => {}
    }
    Ok(who)
}

/// Whether the server knows the credential to be valid without a lookup: an ssid of the live
/// view, a token that authenticated lately. Tickets are used once: never known.
fn known(app: &AppState, credential: &Credential) -> bool {
    match credential {
        Credential::Session { ssid, .. } => app.service.knows_session(ssid),
        Credential::AgentToken { token, .. } | Credential::Bearer(token) => {
            app.guard.knows_token(token)
        }
        Credential::Ticket(_) => false,
    }
}

fn by_token((account, token): (Account, Token)) -> Authenticated {
    Authenticated {
        account: Arc::new(account),
        agent: None,
        actor: Actor::Token(token.id),
        token: Some(token),
        session_pk: None,
    }
}
