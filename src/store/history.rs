//! The history of state changes: written by every change in its own transaction (see
//! `tx::Tx::record_event`), read by agent or account and time range, with a cursor.

use async_trait::async_trait;

use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use super::{Result, StoreError};
use crate::domain::{Event, EventKind, EventQuery};

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
        let undecodable = |e: Box<dyn std::error::Error + Send + Sync>| {
            StoreError::Database(sqlx::Error::Decode(e))
        };
        Ok(Event {
            id: r.id,
            agent_id: r.agent_id,
            kind: r.kind,
            actor: r.actor.parse().map_err(|e| undecodable(Box::new(e)))?,
            at: r.at,
            details: serde_json::from_str(&r.details).map_err(|e| undecodable(Box::new(e)))?,
        })
    }
}

/// A page of the account's (`$1`) events, each statement on its own index.
const ACCOUNT_EVENTS: &str = "SELECT e.id, g.agent_id, e.kind, e.actor, e.at, e.details
     FROM events e LEFT JOIN agents g ON g.id = e.agent_pk
     WHERE e.account_pk = $1 AND e.at >= $2 AND e.at < $3 AND e.id > $4
     ORDER BY e.id LIMIT $5";

/// … and of one of its agents (`$6`).
const AGENT_EVENTS: &str = "SELECT e.id, g.agent_id, e.kind, e.actor, e.at, e.details
     FROM events e LEFT JOIN agents g ON g.id = e.agent_pk
     WHERE e.account_pk = $1 AND e.at >= $2 AND e.at < $3 AND e.id > $4 AND e.agent_pk = $6
     ORDER BY e.id LIMIT $5";

#[async_trait]
impl<DB: Backend> History for SqlStore<DB> {
    async fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        let page = |sql| {
            Sql::<DB>::new(sql)
                .bind(q.account_pk)
                .bind(q.from)
                .bind(q.to)
                .bind(q.after)
                .bind(q.limit)
        };
        let query = match q.agent_pk {
            None => page(ACCOUNT_EVENTS),
            Some(agent_pk) => page(AGENT_EVENTS).bind(agent_pk),
        };
        let rows: Vec<EventRow> = query.fetch_all(&mut *self.conn().await?).await?;
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
