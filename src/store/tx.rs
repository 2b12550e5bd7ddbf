//! A write transaction: what it changed, the history events it records, and its commit.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Pool, TransactionManager};

use super::backend::{Backend, Decode, NewEvent, Sql, Unfinished};
use super::group_commit::Turns;
use super::sql::SqlStore;
use super::{Result, StoreError};
use crate::domain::{Act, Actor, Agent, Break, Call, EventDetails, WrapUp};
use crate::live::{AgentUpdate, Change, Feed};

/// A write transaction that knows what it changed, and announces it when it commits, once
/// the commit is durable. It gives its connection back once committed, before it waits for
/// its events' group commit ([`Backend::sequenced`]).
pub(super) struct Tx<DB: Backend> {
    /// Until it is given back.
    conn: Option<PoolConnection<DB>>,
    /// Until committed: a `Tx` dropped open is rolled back, as sqlx's `Transaction` does.
    open: bool,
    changes: Vec<Change>,
    /// Recorded at commit, so that each account's event ids follow commit order.
    events: Vec<PendingEvent>,
    /// What it does to agents' states, applied to the view once it committed.
    updates: Vec<(i64, AgentUpdate)>,
    feed: Arc<Feed>,
    turns: Arc<Turns>,
    runs: Pool<DB>,
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
        if let Some(conn) = self.conn.as_mut().filter(|_| self.open) {
            DB::TransactionManager::start_rollback(conn);
        }
    }
}

impl<DB: Backend> Tx<DB> {
    /// A transaction begun on `conn` (see `SqlStore::begin`) of `store`, announcing on its
    /// feed, taking its accounts' turns of group commit.
    pub fn new(conn: PoolConnection<DB>, store: &SqlStore<DB>) -> Self {
        Tx {
            conn: Some(conn),
            open: true,
            changes: Vec::new(),
            events: Vec::new(),
            updates: Vec::new(),
            feed: store.feed.clone(),
            turns: store.turns.clone(),
            runs: store.runs.clone(),
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
            kind: None,
        });
    }

    /// Notes what this transaction does to the agent's state (its change is noted by its
    /// event): once committed, the view updates the agent instead of forgetting it, so its
    /// next request reads nothing back ([`View::updated`](crate::live::View::updated)).
    pub fn agent_updated(&mut self, agent: &Agent, update: AgentUpdate) {
        self.updates.push((agent.id, update));
    }

    /// Notes a change of the account itself (not of one agent).
    pub fn account_changed(&mut self, account_pk: i64) {
        self.changes.push(Change {
            account_pk,
            agent_pk: None,
            event: None,
            kind: None,
        });
    }

    /// Commits, durably, then applies the changes to this instance's view before anyone is
    /// answered. Applied even when the commit failed: it may have committed all the same, and
    /// forgetting is always safe.
    ///
    /// The events are recorded last, and numbered so that an account's event ids follow the
    /// order in which they become visible: a stream resumed after id N misses none that
    /// commits later with a smaller id. On PostgreSQL they are numbered after the write's
    /// own commit, by its account's group commit, under the account's lock (see
    /// [`Backend::finish`]); SQLite serialises writers anyway.
    pub async fn commit(self) -> Result<()> {
        self.end_detached(true).await
    }

    /// Commits without waiting for the commit to be durable: for writes a crash of the
    /// database may undo, which record no events (PostgreSQL: the durability barrier is left
    /// out, and its `BEGIN` made the commit asynchronous; SQLite: as [`Self::commit`]).
    /// Visible to every reader once answered, all the same.
    pub async fn commit_lazy(self) -> Result<()> {
        debug_assert!(
            self.events.is_empty(),
            "events are always committed durably"
        );
        self.end_detached(false).await
    }

    /// [`Self::end`], [`detached`]: committed or not, this instance's view is told.
    async fn end_detached(self, durable: bool) -> Result<()> {
        detached(self.end(durable)).await
    }

    async fn end(mut self, durable: bool) -> Result<()> {
        let mut events = std::mem::take(&mut self.events);
        // Accounts in one order, so two transactions never wait for each other's locks.
        events.sort_by_key(|e| e.account_pk);
        let new: Vec<NewEvent> = events
            .iter()
            .map(|e| NewEvent {
                account_pk: e.account_pk,
                agent_pk: e.agent_pk,
                kind: e.details.kind(),
                actor: e.actor.to_string(),
                at: e.at,
                details: e.details.to_json().to_string(),
            })
            .collect();
        let notes: Vec<Change> = self
            .changes
            .iter()
            .filter(|c| c.event.is_none())
            .copied()
            .collect();
        let before = self.feed.view().generation();
        let instance = self.feed.instance();
        let mut finished = DB::finish(&mut *self, &new, &notes, instance, durable).await;
        if finished.is_ok() {
            // Committed: the connection goes back before the wait for the group commit.
            self.open = false;
            self.conn = None;
            for account_pk in accounts(&new) {
                let run = DB::sequenced(&self.runs, &self.turns, account_pk).await;
                if let Err(err) = run {
                    finished = Err(Unfinished::after_commit(err));
                    break;
                }
            }
        }
        let (ids, failed) = match finished {
            Ok(ids) => (ids, None),
            // Nothing committed: dropped open, the transaction is rolled back.
            Err(u) if !u.may_have_committed => return Err(u.err),
            Err(u) => (vec![None; events.len()], Some(u.err)),
        };
        for (e, event) in events.iter().zip(ids) {
            self.changes.push(Change {
                account_pk: e.account_pk,
                agent_pk: e.agent_pk,
                event,
                kind: Some(e.details.kind()),
            });
        }
        let updates = if failed.is_none() {
            std::mem::take(&mut self.updates)
        } else {
            Vec::new()
        };
        self.feed.committed(&self.changes, &updates, before);
        if let Some(err) = failed {
            // Its state is unknown (see `SqlStore::begin`): it does not go back to the pool.
            if let Some(conn) = self.conn.as_mut() {
                conn.close_on_drop();
            }
            return Err(err);
        }
        self.open = false;
        Ok(())
    }
}

/// Runs the end of a write on a task of its own, so that a request given up meanwhile (a
/// timeout, a client gone) still finishes it. Given up halfway, its commit landed (or was on
/// its way) and this instance's view never heard of it, since an instance skips its own
/// announcements: reads answered the state before the change.
pub(super) async fn detached<T: Send + 'static>(
    write: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    tokio::spawn(write)
        .await
        .map_err(|e| StoreError::Database(sqlx::Error::Io(e.into())))?
}

/// Each account of `events` (sorted by account) once.
fn accounts(events: &[NewEvent]) -> Vec<i64> {
    let mut accounts: Vec<i64> = events.iter().map(|e| e.account_pk).collect();
    accounts.dedup();
    accounts
}

// A `Tx` holds its connection until it has committed, and is gone by then (`end` takes it).
const HELD: &str = "a transaction holds its connection until it has committed";

impl<DB: Backend> Deref for Tx<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        self.conn.as_ref().expect(HELD)
    }
}

impl<DB: Backend> DerefMut for Tx<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.conn.as_mut().expect(HELD)
    }
}
