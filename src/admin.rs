//! Operator actions by public ids (`USER_ID`, `AGENT_ID`): what the CLI does and what the
//! first-run demo uses. Each explains a refusal in words; the CLI is the actor.

use crate::actions::{self, ActionError};
use crate::config::Config;
use crate::domain::{
    Account, Actor, Agent, Break, BreakReason, Event, WrapMode, WrapPolicy, WrapUp, now_unix,
};
use crate::secrets;
use crate::store::{AgentUpdate, EventQuery, ReasonUpdate, Store, StoreError};

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
    #[error("break reason {0:?} already exists")]
    ReasonExists(String),
    #[error("no break reason {0:?}")]
    NoReason(String),
    #[error("agent {0:?} {1}")]
    Action(String, ActionError),
    #[error("{0}")]
    Invalid(ActionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ActionError> for AdminError {
    fn from(err: ActionError) -> Self {
        match err {
            ActionError::Store(e) => AdminError::Store(e),
            other => AdminError::Invalid(other),
        }
    }
}

type Result<T> = std::result::Result<T, AdminError>;

pub struct Admin<'a> {
    pub store: &'a dyn Store,
    pub config: &'a Config,
}

impl Admin<'_> {
    pub async fn create_account(&self, user_id: &str, name: &str) -> Result<Account> {
        let user_id = actions::non_empty("USER_ID", user_id)?;
        let wrap = WrapPolicy {
            seconds: self.config.default_wrap_seconds,
            mode: WrapMode::Timed,
        };
        match self
            .store
            .create_account(user_id, name, wrap, now_unix())
            .await
        {
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
        Ok(Account {
            suspended,
            ..account
        })
    }

    /// Changes the account's default wrap-up policy; what is not given stays.
    pub async fn set_wrap_policy(
        &self,
        user_id: &str,
        seconds: Option<i64>,
        mode: Option<WrapMode>,
    ) -> Result<Account> {
        let account = self.account(user_id).await?;
        let current = account.wrap_policy();
        let wrap = WrapPolicy {
            seconds: seconds.unwrap_or(current.seconds),
            mode: mode.unwrap_or(current.mode),
        };
        Ok(self.store.set_account_wrap_policy(account.id, wrap).await?)
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

    /// Creates an agent; without `wrap_seconds` the account's wrap-up policy applies.
    pub async fn create_agent(
        &self,
        user_id: &str,
        agent_id: &str,
        name: &str,
        wrap_seconds: Option<i64>,
    ) -> Result<Agent> {
        let account = self.account(user_id).await?;
        let agent_id = actions::non_empty("AGENT_ID", agent_id)?;
        match self
            .store
            .create_agent(account.id, agent_id, name, wrap_seconds, None, now_unix())
            .await
        {
            Err(StoreError::Conflict) => Err(AdminError::AgentExists(
                user_id.to_owned(),
                agent_id.to_owned(),
            )),
            other => Ok(other?),
        }
    }

    pub async fn agent(&self, user_id: &str, agent_id: &str) -> Result<(Account, Agent)> {
        let account = self.account(user_id).await?;
        let agent = self
            .store
            .agent(account.id, agent_id)
            .await?
            .ok_or_else(|| AdminError::NoAgent(user_id.to_owned(), agent_id.to_owned()))?;
        Ok((account, agent))
    }

    pub async fn update_agent(
        &self,
        user_id: &str,
        agent_id: &str,
        update: &AgentUpdate,
    ) -> Result<Agent> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        Ok(self.store.update_agent(agent.id, update).await?)
    }

    pub async fn set_agent_disabled(
        &self,
        user_id: &str,
        agent_id: &str,
        disabled: bool,
    ) -> Result<Agent> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        Ok(self
            .store
            .set_agent_disabled(&agent, disabled, Actor::Cli, now_unix())
            .await?)
    }

    /// Logs the agent in; returns the new ssid (only its hash is kept).
    pub async fn create_session(&self, user_id: &str, agent_id: &str) -> Result<String> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        let (ssid, _) = actions::login(self.store, self.config, &agent, Actor::Cli, now_unix())
            .await
            .map_err(|e| named(&agent, e))?;
        Ok(ssid)
    }

    /// Logs every session of the agent out; returns how many were open.
    pub async fn logout(&self, user_id: &str, agent_id: &str) -> Result<u64> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        Ok(self
            .store
            .end_agent_sessions(&agent, Actor::Cli, now_unix())
            .await?)
    }

    pub async fn start_break(&self, user_id: &str, agent_id: &str, reason: &str) -> Result<Break> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        actions::start_break(self.store, &agent, reason, Actor::Cli, now_unix())
            .await
            .map_err(|e| named(&agent, e))
    }

    pub async fn end_break(&self, user_id: &str, agent_id: &str) -> Result<Break> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        actions::end_break(self.store, &agent, Actor::Cli, now_unix())
            .await
            .map_err(|e| named(&agent, e))
    }

    pub async fn start_wrap_up(
        &self,
        user_id: &str,
        agent_id: &str,
        call_id: &str,
        number: &str,
        seconds: Option<i64>,
    ) -> Result<WrapUp> {
        let (account, agent) = self.agent(user_id, agent_id).await?;
        actions::start_wrap_up(
            self.store,
            &account,
            &agent,
            call_id,
            number,
            seconds,
            Actor::Cli,
            now_unix(),
        )
        .await
        .map_err(|e| named(&agent, e))
    }

    /// Ends the agent's wrap-up; the operator may end a forced one.
    pub async fn end_wrap_up(&self, user_id: &str, agent_id: &str) -> Result<WrapUp> {
        let (_, agent) = self.agent(user_id, agent_id).await?;
        actions::end_wrap_up(self.store, &agent, Actor::Cli, now_unix(), true)
            .await
            .map_err(|e| named(&agent, e))
    }

    pub async fn reasons(&self, user_id: &str) -> Result<Vec<BreakReason>> {
        let account = self.account(user_id).await?;
        Ok(self.store.reasons(account.id).await?)
    }

    pub async fn create_reason(
        &self,
        user_id: &str,
        code: &str,
        label: &str,
        limit_seconds: Option<i64>,
    ) -> Result<BreakReason> {
        let account = self.account(user_id).await?;
        let code = actions::non_empty("CODE", code)?;
        let label = actions::non_empty("--label", label)?;
        match self
            .store
            .create_reason(account.id, code, label, limit_seconds, now_unix())
            .await
        {
            Err(StoreError::Conflict) => Err(AdminError::ReasonExists(code.to_owned())),
            other => Ok(other?),
        }
    }

    pub async fn update_reason(
        &self,
        user_id: &str,
        code: &str,
        update: &ReasonUpdate,
    ) -> Result<BreakReason> {
        let account = self.account(user_id).await?;
        self.store
            .update_reason(account.id, code, update)
            .await?
            .ok_or_else(|| AdminError::NoReason(code.to_owned()))
    }

    /// A page of the account's (or one agent's) history.
    pub async fn history(
        &self,
        user_id: &str,
        agent_id: Option<&str>,
        from: i64,
        to: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Event>> {
        let account = self.account(user_id).await?;
        let agent_pk = match agent_id {
            Some(agent_id) => Some(self.agent(user_id, agent_id).await?.1.id),
            None => None,
        };
        let now = now_unix();
        self.store.close_expired_wrap_ups(account.id, now).await?;
        Ok(self
            .store
            .events(&EventQuery {
                account_pk: account.id,
                agent_pk,
                from,
                to,
                after,
                limit,
            })
            .await?)
    }
}

fn named(agent: &Agent, err: ActionError) -> AdminError {
    match err {
        ActionError::Empty(_) | ActionError::Store(_) => err.into(),
        other => AdminError::Action(agent.agent_id.clone(), other),
    }
}
