//! Breaks: at most one open per agent (a partial unique index), each with its reason.

use async_trait::async_trait;
use serde_json::json;

use super::Result;
use super::sql::{Backend, Sql, SqlStore, close_open, lock_enabled_agent};
use crate::domain::{Act, Agent, Break, BreakReason, EventKind};

#[async_trait]
pub trait Breaks: Send + Sync {
    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>>;
    /// `Conflict` when the agent already has an open break.
    async fn start_break(&self, agent: &Agent, reason: &BreakReason, act: Act) -> Result<Break>;
    /// Ends the open break, if any, and returns it.
    async fn end_break(&self, agent: &Agent, act: Act) -> Result<Option<Break>>;
}

/// `Break`'s columns.
pub(super) const BREAK_COLUMNS: &str = "reason_code, reason, limit_seconds, started_at, ended_at";

#[async_trait]
impl<DB: Backend> Breaks for SqlStore<DB> {
    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>> {
        let sql =
            format!("SELECT {BREAK_COLUMNS} FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL");
        Sql::<DB>::new(&sql)
            .bind(agent_pk)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    async fn start_break(&self, agent: &Agent, reason: &BreakReason, act: Act) -> Result<Break> {
        let Act { actor, now } = act;
        let mut tx = self.begin().await?;
        lock_enabled_agent::<DB>(&mut tx, agent.id).await?;
        // The partial unique index refuses a second open break: `Conflict`.
        let sql = format!(
            "INSERT INTO breaks (agent_pk, reason_pk, reason_code, reason, limit_seconds, started_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {BREAK_COLUMNS}"
        );
        let started: Break = Sql::<DB>::new(&sql)
            .bind(agent.id)
            .bind(reason.id)
            .bind(reason.code.as_str())
            .bind(reason.label.as_str())
            .bind(reason.limit_seconds)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let details = json!({ "reasonCode": reason.code, "reason": reason.label,
                              "limit": reason.limit_seconds });
        tx.record_event(agent, EventKind::BreakStart, actor, now, details);
        tx.commit().await?;
        Ok(started)
    }

    async fn end_break(&self, agent: &Agent, act: Act) -> Result<Option<Break>> {
        let Act { actor, now } = act;
        let mut tx = self.begin().await?;
        let ended = close_break::<DB>(&mut tx, agent.id, now).await?;
        if let Some(b) = &ended {
            let detail = b.detail(now);
            let details = json!({ "reasonCode": b.reason_code, "duration": detail.current_duration,
                                  "overLimit": detail.over_limit });
            let at = b.ended_at.unwrap_or(now);
            tx.record_event(agent, EventKind::BreakEnd, actor, at, details);
        }
        tx.commit().await?;
        Ok(ended)
    }
}

/// Inside a transaction: ends the agent's open break at `now` (never before its start).
pub(super) async fn close_break<DB: Backend>(
    conn: &mut DB::Connection,
    agent_pk: i64,
    now: i64,
) -> Result<Option<Break>> {
    close_open::<DB, Break>(conn, ("breaks", BREAK_COLUMNS), agent_pk, now).await
}
