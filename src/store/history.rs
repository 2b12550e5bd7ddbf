//! The history of state changes: written by every change in its own transaction, read by
//! agent or account and time range, with a cursor.

use async_trait::async_trait;

use super::Result;
use crate::domain::Event;

/// A page of history: events with `from <= at < to`, after the event id `after`, oldest first.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub account_pk: i64,
    pub agent_pk: Option<i64>,
    pub from: i64,
    pub to: i64,
    pub after: i64,
    pub limit: i64,
}

#[async_trait]
pub trait History: Send + Sync {
    async fn events(&self, query: &EventQuery) -> Result<Vec<Event>>;
    /// Closes the account's timed wrap-ups that ran out, recording each end at its own time.
    async fn close_expired_wrap_ups(&self, account_pk: i64, now: i64) -> Result<()>;
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    id: i64,
    agent_id: Option<String>,
    kind: String,
    actor: String,
    at: i64,
    details: String,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Event {
            id: r.id,
            agent_id: r.agent_id,
            kind: r.kind,
            actor: r.actor,
            at: r.at,
            details: serde_json::from_str(&r.details).unwrap_or_default(),
        }
    }
}

/// Records one event inside the transaction `$tx`: (agent, kind, actor, at, details JSON).
macro_rules! record_event {
    ($tx:expr, $agent:expr, $kind:expr, $actor:expr, $at:expr, $details:expr) => {
        sqlx::query(
            "INSERT INTO events (account_pk, agent_pk, kind, actor, at, details)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($agent.account_pk)
        .bind($agent.id)
        .bind($kind.as_str())
        .bind($actor.to_string())
        .bind($at)
        .bind(serde_json::Value::to_string(&$details))
        .execute(&mut *$tx)
        .await
    };
}

/// Inside a transaction: closes wrap-ups of `$account_pk` (or only of `$agent_pk` when Some)
/// whose time ran out, each at its own end time, with a `wrap.end` event by the system.
macro_rules! close_expired_wraps {
    ($tx:expr, $account_pk:expr, $agent_pk:expr, $now:expr) => {{
        let expired: Vec<(i64, i64, String, i64)> = sqlx::query_as(
            "SELECT w.id, w.agent_pk, w.call_id, w.ends_at FROM wrap_ups w
             JOIN agents g ON g.id = w.agent_pk
             WHERE g.account_pk = $1 AND ($2 = 0 OR w.agent_pk = $2)
               AND w.ended_at IS NULL AND w.ends_at <= $3 ORDER BY w.id",
        )
        .bind($account_pk)
        .bind($agent_pk.unwrap_or(0))
        .bind($now)
        .fetch_all(&mut *$tx)
        .await?;
        for (wrap_pk, agent_pk, call_id, ends_at) in expired {
            let closed = sqlx::query(
                "UPDATE wrap_ups SET ended_at = ends_at WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(wrap_pk)
            .execute(&mut *$tx)
            .await?;
            if closed.rows_affected() == 1 {
                let agent = $crate::store::history::AgentRef { id: agent_pk, account_pk: $account_pk };
                record_event!(
                    $tx,
                    agent,
                    $crate::domain::EventKind::WrapEnd,
                    $crate::domain::Actor::System,
                    ends_at,
                    serde_json::json!({ "callId": call_id, "how": "expired" })
                )?;
            }
        }
    }};
}

/// The two ids an event needs, when no whole `Agent` is at hand.
pub(super) struct AgentRef {
    pub id: i64,
    pub account_pk: i64,
}

macro_rules! impl_history {
    ($store:ty, $db:ty, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::History for $store {
            async fn events(
                &self,
                q: &$crate::store::EventQuery,
            ) -> $crate::store::Result<Vec<$crate::domain::Event>> {
                let mut sql = sqlx::QueryBuilder::<$db>::new(
                    "SELECT e.id, g.agent_id, e.kind, e.actor, e.at, e.details
                     FROM events e LEFT JOIN agents g ON g.id = e.agent_pk WHERE e.account_pk = ",
                );
                sql.push_bind(q.account_pk);
                if let Some(agent_pk) = q.agent_pk {
                    sql.push(" AND e.agent_pk = ").push_bind(agent_pk);
                }
                sql.push(" AND e.at >= ").push_bind(q.from);
                sql.push(" AND e.at < ").push_bind(q.to);
                sql.push(" AND e.id > ").push_bind(q.after);
                sql.push(" ORDER BY e.id LIMIT ").push_bind(q.limit);
                let rows: Vec<$crate::store::history::EventRow> =
                    sql.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn close_expired_wrap_ups(
                &self,
                account_pk: i64,
                now: i64,
            ) -> $crate::store::Result<()> {
                let mut tx = self.pool.begin_with($begin).await?;
                close_expired_wraps!(tx, account_pk, None::<i64>, now);
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
