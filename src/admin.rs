//! Operator actions: what the CLI does, and what the first-run demo uses.
//! Each looks its account and agent up by their public ids and explains a refusal.

use crate::config::Config;
use crate::domain::{Account, Agent, Break, WrapUp, now_unix};
use crate::secrets;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("account {0:?} already exists")]
    AccountExists(String),
    #[error("no account {0:?}")]
    NoAccount(String),
    #[error("agent {1:?} already exists in account {0:?}")]
    AgentExists(String, String),
    #[error("no agent {1:?} in account {0:?}")]
    NoAgent(String, String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("agent {0:?} is already on break")]
    AlreadyOnBreak(String),
    #[error("agent {0:?} is not on break")]
    NotOnBreak(String),
    #[error("agent {0:?} is already in wrap-up")]
    AlreadyInWrapUp(String),
    #[error("agent {0:?} is not in wrap-up")]
    NotInWrapUp(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, AdminError>;

fn non_empty<'a>(what: &'static str, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        Err(AdminError::Empty(what))
    } else {
        Ok(value)
    }
}

pub struct Admin<'a> {
    pub store: &'a dyn Store,
    pub config: &'a Config,
}

impl Admin<'_> {
    pub async fn create_account(&self, user_id: &str, name: &str) -> Result<Account> {
        let user_id = non_empty("USER_ID", user_id)?;
        match self.store.create_account(user_id, name, now_unix()).await {
            Err(StoreError::Conflict) => Err(AdminError::AccountExists(user_id.to_owned())),
            other => Ok(other?),
        }
    }

    pub async fn account(&self, user_id: &str) -> Result<Account> {
        self.store
            .account(user_id)
            .await?
            .ok_or_else(|| AdminError::NoAccount(user_id.to_owned()))
    }

    pub async fn set_suspended(&self, user_id: &str, suspended: bool) -> Result<Account> {
        let account = self.account(user_id).await?;
        self.store.set_suspended(account.id, suspended).await?;
        Ok(Account { suspended, ..account })
    }

    /// Returns the new token; only its hash is kept.
    pub async fn create_token(&self, user_id: &str) -> Result<String> {
        let account = self.account(user_id).await?;
        let token = secrets::new_token();
        self.store
            .create_token(account.id, &secrets::hash(&token), now_unix())
            .await?;
        Ok(token)
    }

    pub async fn create_agent(
        &self,
        user_id: &str,
        agent_id: &str,
        name: &str,
        wrap_seconds: Option<i64>,
    ) -> Result<Agent> {
        let account = self.account(user_id).await?;
        let agent_id = non_empty("AGENT_ID", agent_id)?;
        let wrap_seconds = wrap_seconds.unwrap_or(self.config.default_wrap_seconds);
        match self
            .store
            .create_agent(account.id, agent_id, name, wrap_seconds, now_unix())
            .await
        {
            Err(StoreError::Conflict) => Err(AdminError::AgentExists(
                user_id.to_owned(),
                agent_id.to_owned(),
            )),
            other => Ok(other?),
        }
    }

    pub async fn agent(&self, user_id: &str, agent_id: &str) -> Result<Agent> {
        let account = self.account(user_id).await?;
        self.store
            .agent(account.id, agent_id)
            .await?
            .ok_or_else(|| AdminError::NoAgent(user_id.to_owned(), agent_id.to_owned()))
    }

    /// Logs the agent in; returns the new ssid (only its hash is kept).
    pub async fn create_session(&self, user_id: &str, agent_id: &str) -> Result<String> {
        let agent = self.agent(user_id, agent_id).await?;
        let ssid = secrets::new_ssid();
        let now = now_unix();
        self.store
            .create_session(
                agent.id,
                &secrets::hash(&ssid),
                now,
                now + self.config.session_max_age_secs,
            )
            .await?;
        Ok(ssid)
    }

    pub async fn start_break(&self, user_id: &str, agent_id: &str, reason: &str) -> Result<Break> {
        let agent = self.agent(user_id, agent_id).await?;
        let reason = non_empty("--reason", reason)?;
        match self
            .store
            .start_break(agent.id, reason, None, now_unix())
            .await
        {
            Err(StoreError::Conflict) => Err(AdminError::AlreadyOnBreak(agent.agent_id)),
            other => Ok(other?),
        }
    }

    pub async fn end_break(&self, user_id: &str, agent_id: &str) -> Result<Break> {
        let agent = self.agent(user_id, agent_id).await?;
        self.store
            .end_break(agent.id, now_unix())
            .await?
            .ok_or(AdminError::NotOnBreak(agent.agent_id))
    }

    pub async fn start_wrap_up(
        &self,
        user_id: &str,
        agent_id: &str,
        call_id: &str,
        number: &str,
        seconds: Option<i64>,
    ) -> Result<WrapUp> {
        let agent = self.agent(user_id, agent_id).await?;
        let call_id = non_empty("--call-id", call_id)?;
        let now = now_unix();
        let ends_at = now + seconds.unwrap_or(agent.wrap_seconds);
        match self
            .store
            .start_wrap_up(agent.id, call_id, number.trim(), now, Some(ends_at))
            .await
        {
            Err(StoreError::Conflict) => Err(AdminError::AlreadyInWrapUp(agent.agent_id)),
            other => Ok(other?),
        }
    }

    pub async fn end_wrap_up(&self, user_id: &str, agent_id: &str) -> Result<WrapUp> {
        let agent = self.agent(user_id, agent_id).await?;
        self.store
            .end_wrap_up(agent.id, now_unix())
            .await?
            .ok_or(AdminError::NotInWrapUp(agent.agent_id))
    }
}
