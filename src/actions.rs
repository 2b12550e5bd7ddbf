//! State changes with their rules, shared by the upstream routes, the management API and
//! the CLI. Each takes the resolved account/agent, who acts, and the server's `now`.

use crate::config::Config;
use crate::domain::{Account, Actor, Agent, Break, WrapUp};
use crate::secrets;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
/// Messages read after the agent's name: "agent \"7\" is already on break".
pub enum ActionError {
    #[error("is already on break")]
    AlreadyOnBreak,
    #[error("is not on break")]
    NotOnBreak,
    #[error("cannot go on break for {0:?}: not an active break reason of the account")]
    UnknownReason(String),
    #[error("is already in wrap-up")]
    AlreadyInWrapUp,
    #[error("is not in wrap-up")]
    NotInWrapUp,
    #[error("is in a forced wrap-up, which cannot be ended early")]
    CannotEndEarly,
    #[error("is disabled")]
    AgentDisabled,
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ActionError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::AgentDisabled => ActionError::AgentDisabled,
            other => ActionError::Store(other),
        }
    }
}

type Result<T> = std::result::Result<T, ActionError>;

fn enabled(agent: &Agent) -> Result<()> {
    if agent.disabled {
        Err(ActionError::AgentDisabled)
    } else {
        Ok(())
    }
}

pub fn non_empty<'a>(what: &'static str, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        Err(ActionError::Empty(what))
    } else {
        Ok(value)
    }
}

/// Logs the agent in; returns the new ssid (only its hash is kept) and when it expires.
pub async fn login(
    store: &dyn Store,
    config: &Config,
    agent: &Agent,
    actor: Actor,
    now: i64,
) -> Result<(String, i64)> {
    enabled(agent)?;
    let ssid = secrets::new_ssid();
    let expires_at = now + config.session_max_age_secs;
    store
        .create_session(agent, &secrets::hash(&ssid), now, expires_at, actor)
        .await?;
    Ok((ssid, expires_at))
}

/// Starts a break for one of the account's active reasons (matched by code or label).
pub async fn start_break(
    store: &dyn Store,
    agent: &Agent,
    reason: &str,
    actor: Actor,
    now: i64,
) -> Result<Break> {
    enabled(agent)?;
    let wanted = non_empty("reason", reason)?;
    let reason = store
        .reason(agent.account_pk, wanted)
        .await?
        .filter(|r| r.active)
        .ok_or_else(|| ActionError::UnknownReason(wanted.to_owned()))?;
    match store.start_break(agent, &reason, actor, now).await {
        Err(StoreError::Conflict) => Err(ActionError::AlreadyOnBreak),
        other => Ok(other?),
    }
}

pub async fn end_break(store: &dyn Store, agent: &Agent, actor: Actor, now: i64) -> Result<Break> {
    store
        .end_break(agent, actor, now)
        .await?
        .ok_or(ActionError::NotOnBreak)
}

/// Starts after-call work under the agent's wrap-up policy; `seconds` overrides its length.
#[allow(clippy::too_many_arguments)]
pub async fn start_wrap_up(
    store: &dyn Store,
    account: &Account,
    agent: &Agent,
    call_id: &str,
    customer_number: &str,
    seconds: Option<i64>,
    actor: Actor,
    now: i64,
) -> Result<WrapUp> {
    enabled(agent)?;
    let call_id = non_empty("callId", call_id)?;
    let policy = agent.wrap_policy(account);
    let ends_at = policy.ends_at(now, seconds);
    match store
        .start_wrap_up(
            agent,
            call_id,
            customer_number.trim(),
            policy.mode,
            ends_at,
            actor,
            now,
        )
        .await
    {
        Err(StoreError::Conflict) => Err(ActionError::AlreadyInWrapUp),
        other => Ok(other?),
    }
}

/// Ends the running wrap-up. The agent may not end a forced one; a supervisor
/// (`supervisor: true`) may.
pub async fn end_wrap_up(
    store: &dyn Store,
    agent: &Agent,
    actor: Actor,
    now: i64,
    supervisor: bool,
) -> Result<WrapUp> {
    let running = store
        .active_wrap_up(agent.id, now)
        .await?
        .ok_or(ActionError::NotInWrapUp)?;
    if !supervisor && !running.agent_may_end() {
        return Err(ActionError::CannotEndEarly);
    }
    store
        .end_wrap_up(agent, actor, now)
        .await?
        .ok_or(ActionError::NotInWrapUp)
}
