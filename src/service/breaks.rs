//! Breaks.

use super::agents::enabled;
use super::{OnConflict, Result, Service, ServiceError, required};
use crate::domain::{Act, Agent, Break};
use crate::store::StoreError;

impl Service {
    pub async fn open_break(&self, agent: &Agent) -> Result<Option<Break>> {
        match self.live_agent(agent).await? {
            Some(state) => Ok(state.open_break.as_deref().cloned()),
            None => Ok(self.store.open_break(agent.id).await?),
        }
    }

    /// Starts a break for one of the account's active reasons (matched by code or label).
    pub async fn start_break(&self, agent: &Agent, reason: &str, act: Act) -> Result<Break> {
        enabled(agent)?;
        let wanted = required("reason", reason)?;
        match self.store.start_break(agent, wanted, act).await {
            Err(StoreError::UnknownReason) => Err(ServiceError::UnknownReason(wanted.to_owned())),
            started => started.on_conflict(ServiceError::AlreadyOnBreak),
        }
    }

    pub async fn end_break(&self, agent: &Agent, act: Act) -> Result<Break> {
        let known = self.store.feed().view().open_break(agent.id);
        self.store
            .end_break(agent, known.as_ref(), act)
            .await?
            .ok_or(ServiceError::NotOnBreak)
    }
}
