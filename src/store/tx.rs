//! A write transaction: what it changed, the history events it records, and its commit.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::TransactionManager;
use sqlx::pool::PoolConnection;

use super::Result;
use super::backend::{Backend, Decode, Sql};
use crate::domain::{Act, Actor, Agent, Break, Call, EventDetails, WrapUp};
use crate::live::{Change, Feed};

/// A write transaction that knows what it changed, and announces it when it commits. It
/// keeps its connection past the commit (sqlx's `Transaction` would give it back to the
/// pool), for [`Backend::DURABLE`]: going back to a busy pool for it cost throughput.
pub(super) struct Tx<DB: Backend> {
    conn: PoolConnection<DB>,
    /// Until committed: a `Tx` dropped open is rolled back, as sqlx's `Transaction` does.
    open: bool,
    changes: Vec<Change>,
    /// Recorded at commit, so that each account's event ids follow commit order.
    events: Vec<PendingEvent>,
    feed: Arc<Feed>,
}

/// An event of the history, inserted when its transaction commits.
struct PendingEvent {
    account_pk: i64,
    /// None: an event of the account itself (`webhook.disabled`).
    agent_pk: Option<i64>,
    details: EventDetails,
    actor: Actor,
    at: i64,
}

/// An agent by its primary key and its account's: what an event or a change names.
#[derive(Debug, Clone, Copy)]
pub(super) struct AgentRef {
    pub account_pk: i64,
    pub agent_pk: i64,
}

impl From<&Agent> for AgentRef {
    fn from(agent: &Agent) -> Self {
        AgentRef {
            account_pk: agent.account_pk,
            agent_pk: agent.id,
        }
    }
}

/// A row that [`Tx::close_open`] ends: its event is recorded at its end.
pub(super) trait Closed: Send {
    fn ended_at(&self) -> Option<i64>;
}

impl Closed for Call {
    fn ended_at(&self) -> Option<i64> {
        self.ended_at
    }
}

impl Closed for Break {
    fn ended_at(&self) -> Option<i64> {
        self.ended_at
    }
}

impl Closed for WrapUp {
    fn ended_at(&self) -> Option<i64> {
        self.ended_at
    }
}

impl<DB: Backend> Drop for Tx<DB> {
    fn drop(&mut self) {
        if self.open {
            DB::TransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl<DB: Backend> Tx<DB> {
    /// A transaction begun on `conn` (see `SqlStore::begin`), announcing on `feed`.
    pub fn new(conn: PoolConnection<DB>, feed: Arc<Feed>) -> Self {
        Tx {
            conn,
            open: true,
            changes: Vec::new(),
            events: Vec::new(),
            feed,
        }
    }

    /// Records one event of the history, a change of its agent (its kind is the details'):
    /// inserted when the transaction commits.
    pub fn record_event(
        &mut self,
        agent: impl Into<AgentRef>,
        details: EventDetails,
        actor: Actor,
        at: i64,
    ) {
        let agent = agent.into();
        self.events.push(PendingEvent {
            account_pk: agent.account_pk,
            agent_pk: Some(agent.agent_pk),
            details,
            actor,
            at,
        });
    }

    /// Records an event of the account itself, no agent's: inserted when it commits.
    pub fn record_account_event(
        &mut self,
        account_pk: i64,
        details: EventDetails,
        actor: Actor,
        at: i64,
    ) {
        self.events.push(PendingEvent {
            account_pk,
            agent_pk: None,
            details,
            actor,
            at,
        });
    }

    /// Runs `close`, an `UPDATE … RETURNING` that ends the agent's open call, break or
    /// wrap-up, and records the event `end` makes of the row it ended, at the end that row
    /// got. None (and no event) when the agent had none open.
    pub async fn close_open<T: Closed>(
        &mut self,
        close: Sql<'_, DB>,
        agent: &Agent,
        act: Act,
        end: impl FnOnce(&T) -> EventDetails + Send,
    ) -> Result<Option<T>>
    where
        DB: Decode<T>,
    {
        let ended: Option<T> = close.fetch_optional(self).await?;
        if let Some(row) = &ended {
            let at = row.ended_at().unwrap_or(act.now);
            self.record_event(agent, end(row), act.actor, at);
        }
        Ok(ended)
    }

    /// Notes a change of the agent that no event records (an event notes its own).
    pub fn agent_changed(&mut self, agent: impl Into<AgentRef>) {
        let agent = agent.into();
        self.changes.push(Change {
            account_pk: agent.account_pk,
            agent_pk: Some(agent.agent_pk),
            event: None,
        });
    }

    /// Notes a change of the account itself (not of one agent).
    pub fn account_changed(&mut self, account_pk: i64) {
        self.changes.push(Change {
            account_pk,
            agent_pk: None,
            event: None,
        });
    }

    /// Commits, then applies the changes to this instance's view before anyone is answered.
    /// Applied even when the commit failed: it may have committed all the same, and
    /// forgetting is always safe.
    ///
    /// The events are inserted last, each account's under a lock held to the commit (on
    /// PostgreSQL; SQLite serialises writers anyway): so an account's event ids follow the
    /// order in which they commit, and a stream resumed after id N misses none that commits
    /// later with a smaller id. Taken last, after every row lock, it cannot deadlock, and it
    /// is held only for the insert and the commit.
    pub async fn commit(mut self) -> Result<()> {
        self.insert_events().await?;
        let unannounced: Vec<Change> = self
            .changes
            .iter()
            .filter(|c| c.event.is_none())
            .copied()
            .collect();
        if !unannounced.is_empty() {
            DB::announce(&mut self.conn, &unannounced, self.feed.instance()).await?;
        }
        let committed = DB::TransactionManager::commit(&mut self.conn).await;
        self.feed.committed(&self.changes);
        if committed.is_err() {
            // Its state is unknown (see `SqlStore::begin`): it does not go back to the pool.
            self.conn.close_on_drop();
        }
        committed?;
        self.open = false;
        if let Some(barrier) = DB::DURABLE {
            Sql::<DB>::new(barrier).execute(&mut self.conn).await?;
        }
        Ok(())
    }

    async fn insert_events(&mut self) -> Result<()> {
        let mut events = std::mem::take(&mut self.events);
        // Accounts in one order, so two transactions never wait for each other's locks.
        events.sort_by_key(|e| e.account_pk);
        for same in events.chunk_by(|a, b| a.account_pk == b.account_pk) {
            let ids = match DB::RECORD_EVENTS {
                Some(many) if same.len() > 1 => self.insert_many(many, same).await?,
                _ => {
                    let mut ids = Vec::with_capacity(same.len());
                    for e in same {
                        ids.push(self.insert_one(e).await?);
                    }
                    ids
                }
            };
            for (e, event) in same.iter().zip(ids) {
                self.changes.push(Change {
                    account_pk: e.account_pk,
                    agent_pk: e.agent_pk,
                    event: Some(event),
                });
            }
        }
        Ok(())
    }

    async fn insert_one(&mut self, e: &PendingEvent) -> Result<i64> {
        let mut insert = Sql::<DB>::new(DB::RECORD_EVENT)
            .bind(e.account_pk)
            .bind(e.agent_pk)
            .bind(e.details.kind())
            .bind(e.actor.to_string())
            .bind(e.at)
            .bind(e.details.to_json().to_string());
        if DB::RECORD_EVENT_ANNOUNCES {
            // The instance, as text: PostgreSQL has no unsigned 64-bit integer.
            insert = insert.bind(self.feed.instance().to_string());
        }
        let (event,): (i64,) = insert.fetch_one(&mut self.conn).await?;
        Ok(event)
    }

    /// One account's events in one statement (a sweep's presence crossings): one round trip.
    async fn insert_many(&mut self, sql: &str, same: &[PendingEvent]) -> Result<Vec<i64>> {
        let rows: Vec<serde_json::Value> = same
            .iter()
            .map(|e| {
                serde_json::json!([
                    e.agent_pk,
                    e.details.kind(),
                    e.actor.to_string(),
                    e.at,
                    e.details.to_json().to_string()
                ])
            })
            .collect();
        let ids: Vec<(i64,)> = Sql::<DB>::new(sql)
            .bind(same[0].account_pk)
            .bind(self.feed.instance().to_string())
            .bind(serde_json::Value::Array(rows).to_string())
            .fetch_all(&mut self.conn)
            .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}

impl<DB: Backend> Deref for Tx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Backend> DerefMut for Tx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}
