//! After-call wrap-ups: at most one open per agent; a timed one is over when its time runs out.

use async_trait::async_trait;
use serde_json::json;

use super::Result;
use super::sql::{Backend, Sql, SqlStore, close_expired_wraps, close_open, lock_enabled_agent};
use crate::domain::{Act, Agent, EventKind, WrapMode, WrapUp};

/// A wrap-up to start; `ends_at` None is untimed.
#[derive(Debug, Clone)]
pub struct NewWrapUp {
    pub call_id: String,
    pub customer_number: String,
    pub mode: WrapMode,
    pub ends_at: Option<i64>,
}

#[async_trait]
pub trait Wraps: Send + Sync {
    /// The agent's wrap-up that is still running at `now`.
    async fn active_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>>;
    /// `Conflict` when a wrap-up is still running; one that ran out is closed first.
    async fn start_wrap_up(&self, agent: &Agent, new: &NewWrapUp, act: Act) -> Result<WrapUp>;
    /// Ends the running wrap-up, if any, and returns it.
    async fn end_wrap_up(&self, agent: &Agent, act: Act) -> Result<Option<WrapUp>>;
    /// Closes the account's timed wrap-ups that ran out, recording each end at its own time.
    async fn close_expired_wrap_ups(&self, account_pk: i64, now: i64) -> Result<()>;
    /// The accounts that have a timed wrap-up whose time ran out by `now`, not yet closed.
    async fn accounts_with_expired_wrap_ups(&self, now: i64) -> Result<Vec<i64>>;
}

/// `WrapUp`'s columns.
pub(super) const WRAP_COLUMNS: &str =
    "call_id, customer_number, mode, started_at, ends_at, ended_at";

#[async_trait]
impl<DB: Backend> Wraps for SqlStore<DB> {
    async fn active_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>> {
        let sql = format!(
            "SELECT {WRAP_COLUMNS} FROM wrap_ups
             WHERE agent_pk = $1 AND ended_at IS NULL AND (ends_at IS NULL OR ends_at > $2)"
        );
        Sql::<DB>::new(&sql)
            .bind(agent_pk)
            .bind(now)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    async fn start_wrap_up(&self, agent: &Agent, new: &NewWrapUp, act: Act) -> Result<WrapUp> {
        let Act { actor, now } = act;
        let mut tx = self.begin().await?;
        lock_enabled_agent::<DB>(&mut tx, agent.id).await?;
        close_expired_wraps::<DB>(&mut tx, agent.account_pk, Some(agent.id), now).await?;
        let sql = format!(
            "INSERT INTO wrap_ups (agent_pk, call_id, customer_number, mode, started_at, ends_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {WRAP_COLUMNS}"
        );
        let wrap: WrapUp = Sql::<DB>::new(&sql)
            .bind(agent.id)
            .bind(new.call_id.as_str())
            .bind(new.customer_number.as_str())
            .bind(new.mode)
            .bind(now)
            .bind(new.ends_at)
            .fetch_one(&mut *tx)
            .await?;
        let details = json!({ "callId": new.call_id, "cNumber": new.customer_number,
                              "mode": new.mode.as_str(), "endsAt": new.ends_at });
        tx.record_event(agent, EventKind::WrapStart, actor, now, details);
        tx.commit().await?;
        Ok(wrap)
    }

    async fn end_wrap_up(&self, agent: &Agent, act: Act) -> Result<Option<WrapUp>> {
        let Act { actor, now } = act;
        let mut tx = self.begin().await?;
        // One that already ran out is recorded as ended at its own time, not now.
        close_expired_wraps::<DB>(&mut tx, agent.account_pk, Some(agent.id), now).await?;
        let ended = close_wrap::<DB>(&mut tx, agent.id, now).await?;
        if let Some(w) = &ended {
            let details = json!({ "callId": w.call_id, "how": "ended" });
            let at = w.ended_at.unwrap_or(now);
            tx.record_event(agent, EventKind::WrapEnd, actor, at, details);
        }
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
        close_expired_wraps::<DB>(&mut tx, account_pk, None, now).await?;
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

/// Inside a transaction: ends the agent's open wrap-up at `now` (never before its start).
pub(super) async fn close_wrap<DB: Backend>(
    conn: &mut DB::Connection,
    agent_pk: i64,
    now: i64,
) -> Result<Option<WrapUp>> {
    close_open::<DB, WrapUp>(conn, ("wrap_ups", WRAP_COLUMNS), agent_pk, now).await
}
