//! After-call wrap-ups: at most one open per agent; a timed one is over when its time runs out.

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::calls::not_on_call;
use super::sql::SqlStore;
use super::tx::{AgentRef, Tx};
use crate::domain::{Act, Actor, Agent, Ending, EventDetails, NewWrapUp, WrapUp};

#[async_trait]
pub trait Wraps: Send + Sync {
    /// The agent's wrap-up that is still running at `now`.
    async fn active_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>>;
    /// `Conflict` when a wrap-up is still running (one that ran out is closed first);
    /// `OnCall` during a call (its end starts the wrap-up).
    async fn start_wrap_up(&self, agent: &Agent, new: &NewWrapUp, act: Act) -> Result<WrapUp>;
    /// Ends the running wrap-up, if any, and returns it.
    async fn end_wrap_up(&self, agent: &Agent, act: Act) -> Result<Option<WrapUp>>;
    /// Closes the account's timed wrap-ups that ran out, recording each end at its own time.
    async fn close_expired_wrap_ups(&self, account_pk: i64, now: i64) -> Result<()>;
    /// The accounts that have a timed wrap-up whose time ran out by `now`, not yet closed.
    async fn accounts_with_expired_wrap_ups(&self, now: i64) -> Result<Vec<i64>>;
}

/// The agent's (`$1`) wrap-up not yet closed, as `WrapUp` reads it: it may have run out.
pub(super) const UNENDED_WRAP: &str =
    "SELECT call_id, customer_number, mode, started_at, ends_at, ended_at
     FROM wrap_ups WHERE agent_pk = $1 AND ended_at IS NULL";

/// The agent's (`$1`) wrap-up still running at `$2`.
const ACTIVE_WRAP: &str = "SELECT call_id, customer_number, mode, started_at, ends_at, ended_at
     FROM wrap_ups
     WHERE agent_pk = $1 AND ended_at IS NULL AND (ends_at IS NULL OR ends_at > $2)";

const START_WRAP: &str =
    "INSERT INTO wrap_ups (agent_pk, call_id, customer_number, mode, started_at, ends_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING call_id, customer_number, mode, started_at, ends_at, ended_at";

/// Ends the agent's (`$1`) open wrap-up at `$2`, never before its start: a start that
/// committed in between may carry a later second than the end request read its clock.
const CLOSE_WRAP: &str =
    "UPDATE wrap_ups SET ended_at = CASE WHEN $2 < started_at THEN started_at ELSE $2 END
     WHERE agent_pk = $1 AND ended_at IS NULL
     RETURNING call_id, customer_number, mode, started_at, ends_at, ended_at";

#[async_trait]
impl<DB: Backend> Wraps for SqlStore<DB> {
    async fn active_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>> {
        Sql::<DB>::new(ACTIVE_WRAP)
            .bind(agent_pk)
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    async fn start_wrap_up(&self, agent: &Agent, new: &NewWrapUp, act: Act) -> Result<WrapUp> {
        let now = act.now;
        let mut tx = self.begin_on_agent(agent.id).await?;
        not_on_call::<DB>(&mut tx, agent.id).await?;
        close_expired_wraps::<DB>(&mut tx, ExpiredOf::Agent(agent.into()), now).await?;
        let wrap = insert_wrap::<DB>(&mut tx, agent, new, act).await?;
        tx.commit().await?;
        Ok(wrap)
    }

    async fn end_wrap_up(&self, agent: &Agent, act: Act) -> Result<Option<WrapUp>> {
        let now = act.now;
        let mut tx = self.begin().await?;
        // One that already ran out is recorded as ended at its own time, not now.
        close_expired_wraps::<DB>(&mut tx, ExpiredOf::Agent(agent.into()), now).await?;
        let ended = close_wrap::<DB>(&mut tx, agent, Ending::Ended, act).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn close_expired_wrap_ups(&self, account_pk: i64, now: i64) -> Result<()> {
        // A read first: a history read takes the write lock (and needs a database that
        // takes writes: it still answers when the disk is full) only to record something.
        let expired: Option<(i64,)> = Sql::<DB>::new(
            "SELECT w.id FROM wrap_ups w JOIN agents g ON g.id = w.agent_pk
             WHERE g.account_pk = $1 AND w.ended_at IS NULL AND w.ends_at <= $2 LIMIT 1",
        )
        .bind(account_pk)
        .bind(now)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        if expired.is_none() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        close_expired_wraps::<DB>(&mut tx, ExpiredOf::Account(account_pk), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn accounts_with_expired_wrap_ups(&self, now: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = Sql::<DB>::new(
            "SELECT DISTINCT g.account_pk FROM wrap_ups w JOIN agents g ON g.id = w.agent_pk
             WHERE w.ended_at IS NULL AND w.ends_at <= $1",
        )
        .bind(now)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// Inside a transaction: starts the agent's wrap-up at `now`, recording its `wrap.start`.
/// The partial unique index refuses a second open one: `Conflict`.
pub(super) async fn insert_wrap<DB: Backend>(
    tx: &mut Tx<DB>,
    agent: &Agent,
    new: &NewWrapUp,
    act: Act,
) -> Result<WrapUp> {
    let Act { actor, now } = act;
    let wrap: WrapUp = Sql::<DB>::new(START_WRAP)
        .bind(agent.id)
        .bind(new.call_id.as_str())
        .bind(new.customer_number.as_str())
        .bind(new.mode)
        .bind(now)
        .bind(new.ends_at)
        .fetch_one(&mut **tx)
        .await?;
    let details = EventDetails::WrapStart {
        call_id: new.call_id.clone(),
        customer_number: new.customer_number.clone(),
        mode: new.mode,
        ends_at: new.ends_at,
    };
    tx.record_event(agent, details, actor, now);
    Ok(wrap)
}

/// Inside a transaction: ends the agent's open wrap-up at `now` (never before its start),
/// recording its `wrap.end` at the time it got, ended as `how`. None when there was none.
pub(super) async fn close_wrap<DB: Backend>(
    tx: &mut Tx<DB>,
    agent: &Agent,
    how: Ending,
    act: Act,
) -> Result<Option<WrapUp>> {
    let close = Sql::<DB>::new(CLOSE_WRAP).bind(agent.id).bind(act.now);
    let end = |w: &WrapUp| EventDetails::WrapEnd {
        call_id: w.call_id.clone(),
        how,
    };
    tx.close_open(close, agent, act, end).await
}

/// Whose run-out wrap-ups to close: a whole account's, or one agent's.
#[derive(Debug, Clone, Copy)]
pub(super) enum ExpiredOf {
    Account(i64),
    Agent(AgentRef),
}

/// Inside a transaction: closes the timed wrap-ups whose time ran out, each at its own end
/// time, with a `wrap.end` by the system.
pub(super) async fn close_expired_wraps<DB: Backend>(
    tx: &mut Tx<DB>,
    of: ExpiredOf,
    now: i64,
) -> Result<()> {
    let (account_pk, agent_pk) = match of {
        ExpiredOf::Account(account_pk) => (account_pk, None),
        ExpiredOf::Agent(agent) => (agent.account_pk, Some(agent.agent_pk)),
    };
    let expired: Vec<(i64, i64, String, i64)> = Sql::<DB>::new(
        "SELECT w.id, w.agent_pk, w.call_id, w.ends_at FROM wrap_ups w
         JOIN agents g ON g.id = w.agent_pk
         WHERE g.account_pk = $1 AND ($2 = 0 OR w.agent_pk = $2)
           AND w.ended_at IS NULL AND w.ends_at <= $3 ORDER BY w.id",
    )
    .bind(account_pk)
    .bind(agent_pk.unwrap_or(0))
    .bind(now)
    .fetch_all(tx)
    .await?;
    for (wrap_pk, agent_pk, call_id, ends_at) in expired {
        let closed = Sql::<DB>::new(
            "UPDATE wrap_ups SET ended_at = ends_at WHERE id = $1 AND ended_at IS NULL",
        )
        .bind(wrap_pk)
        .execute(tx)
        .await?;
        if closed == 1 {
            let agent = AgentRef {
                account_pk,
                agent_pk,
            };
            let details = EventDetails::WrapEnd {
                call_id,
                how: Ending::Expired,
            };
            tx.record_event(agent, details, Actor::System, ends_at);
        }
    }
    Ok(())
}
