//! Calls: answered, the agent is on the call; ended, the agent goes into wrap-up by policy.

use super::agents::enabled;
use super::{OnConflict, Result, Service, ServiceError, required};
use crate::domain::{
    Account, Act, Agent, Call, CallDirection, CallOutcome, CallStart, EndedCall, NewCall,
    WrapAfterCall,
};

/// A call answered (or placed) by the agent.
#[derive(Debug, Clone, Default)]
pub struct CallRequest {
    pub call_id: String,
    pub customer_number: String,
    /// Inbound when not given.
    pub direction: Option<CallDirection>,
    /// Ends a break first, instead of refusing the call.
    pub force: bool,
}

impl Service {
    /// The call the agent is on.
    pub async fn open_call(&self, agent: &Agent) -> Result<Option<Call>> {
        Ok(self.store.open_call(agent.id).await?)
    }

    /// The agent answers a call: needs a live session, refuses a second call, and during a
    /// break only when forced (the break ends first); a running wrap-up ends.
    pub async fn start_call(&self, agent: &Agent, request: CallRequest, act: Act) -> Result<Call> {
        enabled(agent)?;
        let new = NewCall {
            call_id: required("callId", &request.call_id)?.to_owned(),
            customer_number: request.customer_number.trim().to_owned(),
            direction: request.direction.unwrap_or(CallDirection::Inbound),
        };
        let start = CallStart {
            force: request.force,
            live_since: act.now - self.config.session_idle_timeout_secs,
        };
        self.store
            .start_call(agent, &new, start, act)
            .await
            .on_conflict(ServiceError::AlreadyOnCall)
    }

    /// Ends the agent's call. `completed`: the wrap-up follows by the agent's policy (none
    /// when it lasts 0 seconds); `missed` (not answered, or rejected): no wrap-up, but a
    /// `missed_call` tag in the same transaction. The answer says how it ended.
    pub async fn end_call(
        &self,
        account: &Account,
        agent: &Agent,
        outcome: CallOutcome,
        act: Act,
    ) -> Result<EndedCall> {
        let wrap = match outcome {
            CallOutcome::Completed => WrapAfterCall::by_policy(agent.wrap_policy(account), act.now),
            CallOutcome::Missed => None,
            CallOutcome::Disabled => return Err(ServiceError::OutOfRange("outcome")),
        };
        let ended = self
            .store
            .end_call(agent, outcome, wrap, act)
            .await?
            .ok_or(ServiceError::NotOnCall)?;
        Ok(ended)
    }
}
