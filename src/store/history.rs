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
    /// Up to `limit` of the account's events after `after`, oldest first, of these kinds
    /// (None: all), and how far that read covers: every event of those kinds up to it is in
    /// the answer (the last one's id after a full read; else the account's newest event, as an
    /// account's ids follow its commits). The webhook deliverer's read.
    async fn events_of_kinds(
        &self,
        account_pk: i64,
        after: i64,
        kinds: Option<&[EventKind]>,
        limit: i64,
    ) -> Result<(Vec<Event>, i64)>;
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

/// A page of the account's (`$1`) events, or of one of its agents' (`$6`), either way round:
/// each statement on its own index.
macro_rules! page_of_events {
    ($agent:literal, $past:literal, $order:literal) => {
        concat!(
            "SELECT e.id, g.agent_id, e.kind, e.actor, e.at, e.details
     FROM events e LEFT JOIN agents g ON g.id = e.agent_pk
     WHERE e.account_pk = $1 AND e.at >= $2 AND e.at < $3 AND e.id ",
            $past,
            " $4",
            $agent,
            " ORDER BY e.id ",
            $order,
            " LIMIT $5"
        )
    };
}
const ACCOUNT_EVENTS: &str = page_of_events!("", ">", "ASC");
const AGENT_EVENTS: &str = page_of_events!(" AND e.agent_pk = $6", ">", "ASC");
const ACCOUNT_EVENTS_NEWEST_FIRST: &str = page_of_events!("", "<", "DESC");
const AGENT_EVENTS_NEWEST_FIRST: &str = page_of_events!(" AND e.agent_pk = $6", "<", "DESC");

#[async_trait]
impl<DB: Backend> History for SqlStore<DB> {
    async fn events(&self, q: &EventQuery) -> Result<Vec<Event>> {
        // Newest first, the first page is "before" no id at all.
        let past = match (q.newest_first, q.after) {
            (true, 0) => i64::MAX,
            _ => q.after,
        };
        let page = |sql| {
            Sql::<DB>::new(sql)
                .bind(q.account_pk)
                .bind(q.from)
                .bind(q.to)
                .bind(past)
                .bind(q.limit)
        };
        let query = match (q.agent_pk, q.newest_first) {
            (None, false) => page(ACCOUNT_EVENTS),
            (Some(agent_pk), false) => page(AGENT_EVENTS).bind(agent_pk),
            (None, true) => page(ACCOUNT_EVENTS_NEWEST_FIRST),
            (Some(agent_pk), true) => page(AGENT_EVENTS_NEWEST_FIRST).bind(agent_pk),
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

    async fn events_of_kinds(
        &self,
        account_pk: i64,
        after: i64,
        kinds: Option<&[EventKind]>,
        limit: i64,
    ) -> Result<(Vec<Event>, i64)> {
        let Some(kinds) = kinds else {
            let page = EventQuery {
                account_pk,
                agent_pk: None,
                from: 0,
                to: i64::MAX,
                after,
                limit,
                newest_first: false,
            };
            let events = self.events(&page).await?;
            let covered = events.last().map_or(after, |e| e.id);
            return Ok((events, covered));
        };
        // The newest first: everything up to it has committed, so the read below sees all of
        // it (the kinds it skips, the deliverer skips too).
        let newest = self.newest_event(account_pk).await?;
        let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 5)).collect();
        let sql = format!(
            "SELECT e.id, g.agent_id, e.kind, e.actor, e.at, e.details
             FROM events e LEFT JOIN agents g ON g.id = e.agent_pk
             WHERE e.account_pk = $1 AND e.id > $2 AND e.id <= $3 AND e.kind IN ({})
             ORDER BY e.id LIMIT $4",
            if marks.is_empty() {
                "NULL".to_owned()
            } else {
                marks.join(", ")
            }
        );
        let mut query = Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(after)
            .bind(newest)
            .bind(limit);
        for kind in kinds {
            query = query.bind(*kind);
        }
        let rows: Vec<EventRow> = query.fetch_all(&mut *self.conn().await?).await?;
        let events = rows
            .into_iter()
            .map(Event::try_from)
            .collect::<Result<Vec<_>>>()?;
        let covered = match events.last() {
            Some(last) if events.len() as i64 >= limit => last.id,
            _ => newest.max(after),
        };
        Ok((events, covered))
    }
}
