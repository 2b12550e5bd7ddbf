//! After-call wrap-ups, and the roster and history that show them.

use super::agents::enabled;
use super::{OnConflict, Result, Service, ServiceError, at_least, required};
use crate::domain::{
    Account, Act, Agent, Event, EventQuery, NewWrapUp, RosterEntry, RosterQuery, WrapUp,
};

/// A wrap-up asked for when a call ends; `seconds` overrides the policy's length.
#[derive(Debug, Clone, Default)]
pub struct WrapRequest {
    pub call_id: String,
    pub customer_number: String,
    pub seconds: Option<i64>,
}

/// Who ends a wrap-up: the agent may not end a forced one; a supervisor may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    Agent,
    Supervisor,
}

impl Service {
    /// The agent's wrap-up still running at `now`.
    pub async fn active_wrap_up(&self, agent: &Agent, now: i64) -> Result<Option<WrapUp>> {
        match self.live_agent(agent).await? {
            Some(state) => Ok(state.wrap.as_deref().filter(|w| w.is_active(now)).cloned()),
            None => Ok(self.store.active_wrap_up(agent.id, now).await?),
        }
    }

    /// Starts after-call work under the agent's wrap-up policy.
    pub async fn start_wrap_up(
        &self,
        account: &Account,
        agent: &Agent,
        request: WrapRequest,
        act: Act,
    ) -> Result<WrapUp> {
        let now = act.now;
        at_least("seconds", request.seconds, 0)?;
        enabled(agent)?;
        let policy = agent.wrap_policy(account);
        let new = NewWrapUp {
            call_id: required("callId", &request.call_id)?.to_owned(),
            customer_number: request.customer_number.trim().to_owned(),
            mode: policy.mode,
            ends_at: policy.ends_at(now, request.seconds),
        };
        self.store
            .start_wrap_up(agent, &new, act)
            .await
            .on_conflict(ServiceError::AlreadyInWrapUp)
    }

    /// Ends the running wrap-up.
    pub async fn end_wrap_up(&self, agent: &Agent, by: EndedBy, act: Act) -> Result<WrapUp> {
        let now = act.now;
        let running = self
            .store
            .active_wrap_up(agent.id, now)
            .await?
            .ok_or(ServiceError::NotInWrapUp)?;
        if by == EndedBy::Agent && !running.agent_may_end() {
            return Err(ServiceError::CannotEndEarly);
        }
        self.store
            .end_wrap_up(agent, act)
            .await?
            .ok_or(ServiceError::NotInWrapUp)
    }

    /// Every agent of the account (or only `agents`, by primary key) with its state at `now`.
    pub async fn roster(
        &self,
        account_pk: i64,
        agents: Option<&[i64]>,
        now: i64,
    ) -> Result<Vec<RosterEntry>> {
        let query = RosterQuery {
            account_pk,
            agents,
            now,
            idle_timeout_secs: self.config.session_idle_timeout_secs,
        };
        let lines = self.store.roster(query).await?;
        let rule = self.config.presence();
        Ok(lines
            .into_iter()
            .map(|line| RosterEntry::new(line, now, rule))
            .collect())
    }

    /// A page of history; a timed wrap-up that ran out is first recorded as ended (at its
    /// own time), so the page tells the whole story.
    pub async fn events(&self, query: &EventQuery, now: i64) -> Result<Vec<Event>> {
        self.store
            .close_expired_wrap_ups(query.account_pk, now)
            .await?;
        Ok(self.store.events(query).await?)
    }
}
