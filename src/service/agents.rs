//! Agents: created, updated, disabled and enabled.

use super::{OnConflict, Result, Service, ServiceError, at_least, required};
use crate::domain::{Account, Act, Agent, AgentPage, AgentUpdate, NewAgent, now_unix};

impl Service {
    /// Creates an agent of the account; without overrides the account's wrap-up applies.
    pub async fn create_agent(&self, account: &Account, new: NewAgent) -> Result<Agent> {
        let new = NewAgent {
            agent_id: required("agentId", &new.agent_id)?.to_owned(),
            name: new.name.trim().to_owned(),
            ..new
        };
        at_least("wrapSeconds", new.wrap_seconds, 0)?;
        self.store
            .create_agent(account.id, &new, now_unix())
            .await
            .on_conflict(ServiceError::AlreadyExists)
    }

    /// One agent of the account (`NotFound` for another account's, as for none).
    pub async fn agent(&self, account: &Account, agent_id: &str) -> Result<Agent> {
        self.store
            .agent(account.id, agent_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The account's agents in creation order, after the agent with internal id `after`.
    pub async fn agents(&self, account: &Account, after: i64, limit: i64) -> Result<Vec<Agent>> {
        let page = AgentPage {
            account_pk: account.id,
            after,
            limit,
        };
        Ok(self.store.list_agents(page).await?)
    }

    pub async fn update_agent(&self, agent: &Agent, update: AgentUpdate) -> Result<Agent> {
        at_least("wrapSeconds", update.wrap_seconds.flatten(), 0)?;
        let update = AgentUpdate {
            name: update.name.map(|n| n.trim().to_owned()),
            ..update
        };
        Ok(self.store.update_agent(agent.id, &update).await?)
    }

    /// Disabling logs the agent out and ends their break and wrap-up; enabling undoes only
    /// the disable. Doing either twice changes nothing the second time.
    pub async fn set_agent_disabled(
        &self,
        agent: &Agent,
        disabled: bool,
        act: Act,
    ) -> Result<Agent> {
        Ok(self.store.set_agent_disabled(agent, disabled, act).await?)
    }
}

/// Refuses a change for a disabled agent before it reaches the store (which checks again,
/// under the agent's row lock).
pub(super) fn enabled(agent: &Agent) -> Result<()> {
    if agent.disabled {
        Err(ServiceError::AgentDisabled)
    } else {
        Ok(())
    }
}
