//! Calls: at most one open per agent (a partial unique index); a completed call is followed
//! by the agent's wrap-up, a missed one by a `missed_call` notification tag, each in the
//! call's own transaction.

use async_trait::async_trait;

use super::backend::{Backend, Sql};
use super::breaks::close_break;
use super::sql::SqlStore;
use super::tags::insert_tag;
use super::tx::Tx;
use super::wraps::{ExpiredOf, close_expired_wraps, close_wrap, insert_wrap};
use super::{Result, StoreError};
use crate::domain::{
    Act, Agent, Call, CallOutcome, CallStart, EndedCall, Ending, EventDetails, NewCall, NewTag,
    NewWrapUp, WrapAfterCall,
};

#[async_trait]
pub trait Calls: Send + Sync {
    async fn open_call(&self, agent_pk: i64) -> Result<Option<Call>>;
    /// `Conflict` when the agent is on a call; `NotLoggedIn` without a live session;
    /// `OnBreak` during a break unless `start.force`, which ends it first. A running
    /// wrap-up ends: the agent took the next call.
    async fn start_call(
        &self,
        agent: &Agent,
        new: &NewCall,
        start: CallStart,
        act: Act,
    ) -> Result<Call>;
    /// Ends the open call, if any, with this outcome; `wrap` starts the wrap-up that follows.
    async fn end_call(
        &self,
        agent: &Agent,
        outcome: CallOutcome,
        wrap: Option<WrapAfterCall>,
        act: Act,
    ) -> Result<Option<EndedCall>>;
}

/// The agent's (`$1`) open call, as `Call` reads it.
const OPEN_CALL: &str = "SELECT call_id, customer_number, direction, started_at, ended_at, outcome
     FROM calls WHERE agent_pk = $1 AND ended_at IS NULL";

/// Opens a call; the partial unique index refuses a second open one.
const START_CALL: &str =
    "INSERT INTO calls (agent_pk, call_id, customer_number, direction, started_at)
     VALUES ($1, $2, $3, $4, $5)
     RETURNING call_id, customer_number, direction, started_at, ended_at, outcome";

/// Ends the agent's (`$1`) open call at `$2` with outcome `$3`, never before its start.
const CLOSE_CALL: &str = "UPDATE calls
     SET ended_at = CASE WHEN $2 < started_at THEN started_at ELSE $2 END, outcome = $3
     WHERE agent_pk = $1 AND ended_at IS NULL
     RETURNING call_id, customer_number, direction, started_at, ended_at, outcome";

#[async_trait]
impl<DB: Backend> Calls for SqlStore<DB> {
    async fn open_call(&self, agent_pk: i64) -> Result<Option<Call>> {
        open_call::<DB>(&mut *self.conn().await?, agent_pk).await
    }

    async fn start_call(
        &self,
        agent: &Agent,
        new: &NewCall,
        start: CallStart,
        act: Act,
    ) -> Result<Call> {
        let Act { actor, now } = act;
        let mut tx = self.begin_on_agent(agent.id).await?;
        let (live,): (i64,) = Sql::<DB>::new(
            "SELECT COUNT(*) FROM agent_sessions
             WHERE agent_pk = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3",
        )
        .bind(agent.id)
        .bind(now)
        .bind(start.live_since)
        .fetch_one(&mut *tx)
        .await?;
        if live == 0 {
            return Err(StoreError::NotLoggedIn);
        }
        // Refused before anything else is ended; the unique index refuses a racing second.
        if open_call::<DB>(&mut tx, agent.id).await?.is_some() {
            return Err(StoreError::Conflict);
        }
        let (on_break,): (i64,) =
            Sql::<DB>::new("SELECT COUNT(*) FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL")
                .bind(agent.id)
                .fetch_one(&mut *tx)
                .await?;
        if on_break > 0 && !start.force {
            return Err(StoreError::OnBreak);
        }
        close_break::<DB>(&mut tx, agent, Ending::Ended, act).await?;
        close_expired_wraps::<DB>(&mut tx, ExpiredOf::Agent(agent.into()), now).await?;
        close_wrap::<DB>(&mut tx, agent, Ending::Ended, act).await?;
        let call: Call = Sql::<DB>::new(START_CALL)
            .bind(agent.id)
            .bind(new.call_id.as_str())
            .bind(new.customer_number.as_str())
            .bind(new.direction)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let details = EventDetails::CallStart {
            call_id: new.call_id.clone(),
            customer_number: new.customer_number.clone(),
            direction: new.direction,
        };
        tx.record_event(agent, details, actor, now);
        tx.commit().await?;
        Ok(call)
    }

    async fn end_call(
        &self,
        agent: &Agent,
        outcome: CallOutcome,
        wrap: Option<WrapAfterCall>,
        act: Act,
    ) -> Result<Option<EndedCall>> {
        let mut tx = self.begin_on_agent(agent.id).await?;
        let Some(call) = close_call::<DB>(&mut tx, agent, outcome, act).await? else {
            return Ok(None);
        };
        if outcome == CallOutcome::Missed {
            let tag = NewTag::missed_call(&call.call_id, &call.customer_number);
            insert_tag::<DB>(&mut tx, agent, &tag, act).await?;
        }
        let mut wrap_up = None;
        if let Some(w) = wrap {
            let new = NewWrapUp {
                call_id: call.call_id.clone(),
                customer_number: call.customer_number.clone(),
                mode: w.mode,
                ends_at: w.ends_at,
            };
            wrap_up = Some(insert_wrap::<DB>(&mut tx, agent, &new, act).await?);
        }
        tx.commit().await?;
        Ok(Some(EndedCall {
            call,
            outcome,
            wrap_up,
        }))
    }
}

/// The agent's open call.
pub(super) async fn open_call<DB: Backend>(
    conn: &mut DB::Connection,
    agent_pk: i64,
) -> Result<Option<Call>> {
    Sql::<DB>::new(OPEN_CALL)
        .bind(agent_pk)
        .fetch_optional(conn)
        .await
}

/// Inside a transaction: refuses a break or a wrap-up while the agent is on a call.
pub(super) async fn not_on_call<DB: Backend>(
    conn: &mut DB::Connection,
    agent_pk: i64,
) -> Result<()> {
    match open_call::<DB>(conn, agent_pk).await? {
        Some(_) => Err(StoreError::OnCall),
        None => Ok(()),
    }
}

/// Inside a transaction: ends the agent's open call with this outcome, recording its
/// `call.end`; None when there was none.
pub(super) async fn close_call<DB: Backend>(
    tx: &mut Tx<DB>,
    agent: &Agent,
    outcome: CallOutcome,
    act: Act,
) -> Result<Option<Call>> {
    let now = act.now;
    let close = Sql::<DB>::new(CLOSE_CALL)
        .bind(agent.id)
        .bind(now)
        .bind(outcome);
    let end = |call: &Call| EventDetails::CallEnd {
        call_id: call.call_id.clone(),
        duration: call.duration(now),
        how: outcome,
    };
    tx.close_open(close, agent, act, end).await
}
