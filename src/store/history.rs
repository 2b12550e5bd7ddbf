//! The history of state changes: written by every change in its own transaction (see
//! `sql::Tx::record_event`), read by agent or account and time range, with a cursor.

use async_trait::async_trait;

use super::sql::{Backend, Sql, SqlStore};
use super::{Result, StoreError};
use crate::domain::{Event, EventKind};

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
    /// The id of the account's newest event (0: none).
    async fn newest_event(&self, account_pk: i64) -> Result<i64>;
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    id: i64,
    agent_id: Option<String>,
    kind: EventKind,
    actor: String,
    at: i64,
    details: String,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;

    fn try_from(r: EventRow) -> Result<Event> {
        Ok(Event {
            id: r.id,
            agent_id: r.agent_id,
            kind: r.kind,
            actor: r.actor,
            at: r.at,
            details: serde_json::from_str(&r.details)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
        })
    }
}

#[async_trait]
impl<DB: Backend> History for SqlStore<DB> {
    async fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        // One agent's events, or the whole account's: two statements, so that each uses its
        // own index. Both bind the same six values; `$6 = 0` only keeps $6 in the account's.
        let agent_filter = if q.agent_pk.is_some() {
            "AND e.agent_pk = $6"
        } else {
            "AND $6 = 0"
        };
        let sql = format!(
            "SELECT e.id, g.agent_id, e.kind, e.actor, e.at, e.details
             FROM events e LEFT JOIN agents g ON g.id = e.agent_pk
             WHERE e.account_pk = $1 AND e.at >= $2 AND e.at < $3 AND e.id > $4 {agent_filter}
             ORDER BY e.id LIMIT $5"
        );
        let rows: Vec<EventRow> = Sql::<DB>::new(&sql)
            .bind(q.account_pk)
            .bind(q.from)
            .bind(q.to)
            .bind(q.after)
            .bind(q.limit)
            .bind(q.agent_pk.unwrap_or(0))
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn newest_event(&self, account_pk: i64) -> Result<i64> {
        let (newest,): (i64,) =
            Sql::<DB>::new("SELECT COALESCE(MAX(id), 0) FROM events WHERE account_pk = $1")
                .bind(account_pk)
                .fetch_one(&mut *self.conn().await?)
                .await?;
        Ok(newest)
    }
}
