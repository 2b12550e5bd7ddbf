//! The one store: `SqlStore<DB>`, its SQL written once for both databases.
//!
//! The SQL is the subset PostgreSQL and SQLite share (`$n` binds, `RETURNING`, partial unique
//! indexes). Generic sqlx code normally repeats a long `where` clause (every bound type, the
//! executor, the row decoders) on every impl; here [`Backend`] states those facts once, as
//! supertraits, so each store file is a plain `impl<DB: Backend> … for SqlStore<DB>`.
//! [`Sql`] is a thin builder over `sqlx::query` that asks for nothing but `DB: Backend`.
//! What really differs between the databases (connecting, migrations, how a write transaction
//! begins) is in `postgres.rs` and `sqlite.rs`.

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{
    Connection, Database, Encode, Executor, FromRow, IntoArguments, Pool, TransactionManager, Type,
};

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::{Health, PoolStats, Result, StoreError, health};
use crate::config::Config;
use crate::domain::{
    Account, Actor, Agent, Break, BreakReason, EventKind, MicPerm, Presence, Scope, Token,
    WrapMode, WrapUp,
};
use crate::live::{Change, Feed, PendingPings};

type Args<'q, DB> = <DB as Database>::Arguments<'q>;
/// What sqlx's executors answer (the same type as `futures::future::BoxFuture`).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// `DB` takes a `T` as a bind parameter.
pub trait Bind<'q, T>: Database {
    fn bind(query: Query<'q, Self, Args<'q, Self>>, value: T) -> Query<'q, Self, Args<'q, Self>>;
}

impl<'q, T: 'q + Encode<'q, DB> + Type<DB>, DB: Database> Bind<'q, T> for DB {
    fn bind(query: Query<'q, DB, Args<'q, DB>>, value: T) -> Query<'q, DB, Args<'q, DB>> {
        query.bind(value)
    }
}

/// `DB` reads a `T` from one of its rows.
pub trait Decode<T>: Database {
    fn decode(row: &Self::Row) -> sqlx::Result<T>;
}

impl<T: for<'r> FromRow<'r, DB::Row>, DB: Database> Decode<T> for DB {
    fn decode(row: &DB::Row) -> sqlx::Result<T> {
        T::from_row(row)
    }
}

/// `DB` runs queries on its connections.
pub trait Run: Database {
    fn fetch_all<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self, Args<'q, Self>>,
    ) -> BoxFuture<'c, sqlx::Result<Vec<Self::Row>>>;
    fn fetch_optional<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self, Args<'q, Self>>,
    ) -> BoxFuture<'c, sqlx::Result<Option<Self::Row>>>;
    fn execute<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self, Args<'q, Self>>,
    ) -> BoxFuture<'c, sqlx::Result<Self::QueryResult>>;
}

impl<DB: Database> Run for DB
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> Args<'q, DB>: IntoArguments<'q, DB>,
{
    fn fetch_all<'c, 'q: 'c>(
        conn: &'c mut DB::Connection,
        query: Query<'q, DB, Args<'q, DB>>,
    ) -> BoxFuture<'c, sqlx::Result<Vec<DB::Row>>> {
        Box::pin(query.fetch_all(conn))
    }
    fn fetch_optional<'c, 'q: 'c>(
        conn: &'c mut DB::Connection,
        query: Query<'q, DB, Args<'q, DB>>,
    ) -> BoxFuture<'c, sqlx::Result<Option<DB::Row>>> {
        Box::pin(query.fetch_optional(conn))
    }
    fn execute<'c, 'q: 'c>(
        conn: &'c mut DB::Connection,
        query: Query<'q, DB, Args<'q, DB>>,
    ) -> BoxFuture<'c, sqlx::Result<DB::QueryResult>> {
        Box::pin(query.execute(conn))
    }
}

/// How many rows a statement changed.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// A database the store runs on: what it binds, what it reads, how it starts.
/// Adding a bind type or a row type to the SQL means adding it here.
#[rustfmt::skip]
pub trait Backend:
    Database<QueryResult: RowsAffected> + Sync + Run
    + for<'q> Bind<'q, i64> + for<'q> Bind<'q, Option<i64>> + for<'q> Bind<'q, bool>
    + for<'q> Bind<'q, Option<bool>> + for<'q> Bind<'q, &'q str> + for<'q> Bind<'q, Option<&'q str>>
    + for<'q> Bind<'q, String> + for<'q> Bind<'q, WrapMode> + for<'q> Bind<'q, Option<WrapMode>>
    + for<'q> Bind<'q, MicPerm> + for<'q> Bind<'q, EventKind> + for<'q> Bind<'q, Presence>
    + for<'q> Bind<'q, Scope> + Decode<Token>
    + Decode<Account> + Decode<Agent> + Decode<Break> + Decode<BreakReason> + Decode<WrapUp>
    + Decode<(i64,)> + Decode<(i64, i64)> + Decode<(String, i64)>
    + Decode<(i64, i64, String, i64)> + Decode<super::accounts::TokenRow>
    + Decode<super::sessions::SessionRow> + Decode<super::history::EventRow>
    + Decode<super::agents::AgentRow> + Decode<super::stream::PresenceRow>
    + Decode<super::stream::AddressedEventRow>
    + Decode<super::roster::RosterRow> + Decode<super::roster::AccountCounts>
    + Decode<super::roster::AgentCounts>
{
    /// `postgres` or `sqlite`.
    const KIND: &'static str;
    /// The statement that opens a write transaction.
    const BEGIN: &'static str;
    /// Run after a commit, when the commit itself may return before it is durable: returns
    /// once it is.
    const DURABLE: Option<&'static str>;
    /// Opens the pool for `DATABASE_URL`.
    fn connect(url: &str, config: &Config) -> BoxFuture<'static, Result<Pool<Self>>>;
    /// Applies this database's migrations.
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<()>>;
    /// Inserts an event (`$1`–`$6`) and returns its id; on PostgreSQL it also announces the
    /// change (`$7`, the payload's instance) in the same statement, and first takes the
    /// account's event lock (see [`Tx::commit`]).
    const RECORD_EVENT: &'static str;
    /// A subquery of the ids in the JSON array bound at `param` (e.g. `$4`).
    fn json_ids(param: &str) -> String;
    /// Announces, inside the transaction, changes that no event recorded.
    fn announce<'c>(
        conn: &'c mut Self::Connection,
        changes: &'c [Change],
        instance: u64,
    ) -> BoxFuture<'c, Result<()>>;
    /// Writes pending heartbeats in one statement per table, never over a newer one, never
    /// to a disabled agent or an ended session.
    fn flush_pings<'c>(
        conn: &'c mut Self::Connection,
        pings: &'c PendingPings,
    ) -> BoxFuture<'c, Result<()>>;
    /// Follows the changes other processes commit, for as long as it is polled: on
    /// PostgreSQL a listener connection (the view is off whenever it is down); on SQLite a
    /// poll of the file's `events` and `feed_changes`.
    fn follow(pool: &Pool<Self>, feed: Arc<Feed>) -> BoxFuture<'static, ()>;
    /// Takes the sweeper's lease if no other instance holds it.
    fn lease(pool: &Pool<Self>) -> BoxFuture<'static, Result<Option<super::Lease>>>;
}

/// A query of the store's SQL, bound and run like `sqlx::query`.
pub struct Sql<'q, DB: Backend> {
    query: Query<'q, DB, Args<'q, DB>>,
}

impl<'q, DB: Backend> Sql<'q, DB> {
    pub fn new(sql: &'q str) -> Self {
        Sql {
            query: sqlx::query(sql),
        }
    }

    pub fn bind<T>(self, value: T) -> Self
    where
        DB: Bind<'q, T>,
    {
        Sql {
            query: DB::bind(self.query, value),
        }
    }

    pub async fn fetch_all<T>(self, conn: &mut DB::Connection) -> Result<Vec<T>>
    where
        DB: Decode<T>,
    {
        let rows = DB::fetch_all(conn, self.query).await?;
        Ok(rows.iter().map(DB::decode).collect::<sqlx::Result<_>>()?)
    }

    pub async fn fetch_optional<T>(self, conn: &mut DB::Connection) -> Result<Option<T>>
    where
        DB: Decode<T>,
    {
        let row = DB::fetch_optional(conn, self.query).await?;
        Ok(row.as_ref().map(DB::decode).transpose()?)
    }

    pub async fn fetch_one<T>(self, conn: &mut DB::Connection) -> Result<T>
    where
        DB: Decode<T>,
    {
        self.fetch_optional(conn)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs it; returns how many rows it changed.
    pub async fn execute(self, conn: &mut DB::Connection) -> Result<u64> {
        Ok(DB::execute(conn, self.query).await?.rows_affected())
    }
}

/// The store on one database.
pub struct SqlStore<DB: Backend> {
    pub(super) pool: Pool<DB>,
    pub(super) feed: Arc<Feed>,
    health: Health,
}

impl<DB: Backend> SqlStore<DB> {
    pub async fn connect(url: &str, config: &Config) -> Result<Self> {
        Ok(SqlStore {
            pool: DB::connect(url, config).await?,
            feed: Feed::new(),
            health: Health::default(),
        })
    }

    /// A connection for reads.
    pub(super) async fn conn(&self) -> Result<sqlx::pool::PoolConnection<DB>> {
        self.health
            .unless_down(async { Ok(self.pool.acquire().await?) })
            .await
    }

    /// A write transaction, begun the backend's way.
    pub(super) async fn begin(&self) -> Result<Tx<DB>> {
        // Connections that cannot begin are closed, and another taken:
        // - one whose rollback failed stays, for sqlx, inside a transaction it will never
        //   begin another from (SQLite rolls back by itself on an I/O error or a full disk,
        //   then refuses the ROLLBACK sqlx sends);
        // - an SQLite connection opened while the file could not be written is read-only
        //   for good (SQLITE_READONLY): without this the server would not write again
        //   once the file can be written. At most one try per pooled connection, plus one.
        let mut read_only = 0;
        let conn = loop {
            let mut conn = self.conn().await?;
            match DB::TransactionManager::begin(&mut conn, Some(DB::BEGIN.into())).await {
                Ok(()) => break conn,
                Err(sqlx::Error::InvalidSavePointStatement) => {
                    tracing::warn!("closing a connection left inside a failed transaction");
                    let _ = conn.close().await;
                }
                Err(sqlx::Error::Database(db)) if super::sqlite_code(db.as_ref()) == Some(8) => {
                    let _ = conn.close().await;
                    read_only += 1;
                    if read_only > self.pool.options().get_max_connections() {
                        return Err(sqlx::Error::Database(db).into());
                    }
                }
                Err(err) => return Err(err.into()),
            }
        };
        Ok(Tx {
            conn,
            open: true,
            changes: Vec::new(),
            events: Vec::new(),
            feed: self.feed.clone(),
        })
    }
}

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
    agent: AgentRef,
    kind: EventKind,
    actor: Actor,
    at: i64,
    details: serde_json::Value,
}

impl<DB: Backend> Drop for Tx<DB> {
    fn drop(&mut self) {
        if self.open {
            DB::TransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl<DB: Backend> Tx<DB> {
    /// Records one event of the history, a change of its agent: inserted when the
    /// transaction commits.
    pub fn record_event(
        &mut self,
        agent: impl Into<AgentRef>,
        kind: EventKind,
        actor: Actor,
        at: i64,
        details: serde_json::Value,
    ) {
        self.events.push(PendingEvent {
            agent: agent.into(),
            kind,
            actor,
            at,
            details,
        });
    }

    /// Notes a change that no event records (an event notes its own).
    pub fn changed(&mut self, account_pk: i64, agent_pk: Option<i64>) {
        self.changes.push(Change {
            account_pk,
            agent_pk,
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
            // Its state is unknown (see `begin`): it does not go back to the pool.
            self.conn.close_on_drop();
        }
        committed?;
        self.open = false;
        if let Some(barrier) = DB::DURABLE {
            Sql::<DB>::new(barrier).execute(&mut self.conn).await?;
        }
        Ok(())
    }
}

impl<DB: Backend> Tx<DB> {
    async fn insert_events(&mut self) -> Result<()> {
        let mut events = std::mem::take(&mut self.events);
        // Accounts in one order, so two transactions never wait for each other's locks.
        events.sort_by_key(|e| e.agent.account_pk);
        for e in events {
            let mut insert = Sql::<DB>::new(DB::RECORD_EVENT)
                .bind(e.agent.account_pk)
                .bind(e.agent.id)
                .bind(e.kind)
                .bind(e.actor.to_string())
                .bind(e.at)
                .bind(e.details.to_string());
            if DB::RECORD_EVENT.contains("$7") {
                // The instance, as text: PostgreSQL has no unsigned 64-bit integer.
                insert = insert.bind(self.feed.instance().to_string());
            }
            let (event,): (i64,) = insert.fetch_one(&mut self.conn).await?;
            self.changes.push(Change {
                account_pk: e.agent.account_pk,
                agent_pk: Some(e.agent.id),
                event: Some(event),
            });
        }
        Ok(())
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

/// The two ids an event needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct AgentRef {
    pub id: i64,
    pub account_pk: i64,
}

impl From<&Agent> for AgentRef {
    fn from(agent: &Agent) -> Self {
        AgentRef {
            id: agent.id,
            account_pk: agent.account_pk,
        }
    }
}

/// `ended_at` for an end at `$2`, never before the start: a start that committed in
/// between may carry a later second than the end request read its clock.
pub(super) const ENDED_AT: &str = "CASE WHEN $2 < started_at THEN started_at ELSE $2 END";

/// Inside a transaction: ends the agent's open row of `table` (a break or a wrap-up) at `now`,
/// never before its start, and returns it as `columns` read it.
pub(super) async fn close_open<DB: Backend + Decode<T>, T>(
    conn: &mut DB::Connection,
    (table, columns): (&str, &str),
    agent_pk: i64,
    now: i64,
) -> Result<Option<T>> {
    let sql = format!(
        "UPDATE {table} SET ended_at = {ENDED_AT} WHERE agent_pk = $1 AND ended_at IS NULL
         RETURNING {columns}"
    );
    Sql::<DB>::new(&sql)
        .bind(agent_pk)
        .bind(now)
        .fetch_optional(conn)
        .await
}

/// Inside a transaction: locks the agent's row until the end of the transaction and makes
/// sure it is not disabled. A concurrent disable then either commits first (and this write
/// is refused) or waits for this write (and ends what it opened). The no-op UPDATE takes
/// the row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers already.
pub(super) async fn lock_enabled_agent<DB: Backend>(
    conn: &mut DB::Connection,
    agent_pk: i64,
) -> Result<()> {
    let locked =
        Sql::<DB>::new("UPDATE agents SET disabled = disabled WHERE id = $1 AND NOT disabled")
            .bind(agent_pk)
            .execute(conn)
            .await?;
    if locked == 0 {
        return Err(StoreError::AgentDisabled);
    }
    Ok(())
}

/// Inside a transaction: closes the account's (or, with `agent_pk`, one agent's) timed
/// wrap-ups whose time ran out, each at its own end time, with a `wrap.end` by the system.
pub(super) async fn close_expired_wraps<DB: Backend>(
    tx: &mut Tx<DB>,
    account_pk: i64,
    agent_pk: Option<i64>,
    now: i64,
) -> Result<()> {
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
                id: agent_pk,
                account_pk,
            };
            let details = serde_json::json!({ "callId": call_id, "how": "expired" });
            tx.record_event(agent, EventKind::WrapEnd, Actor::System, ends_at, details);
        }
    }
    Ok(())
}

#[async_trait]
impl<DB: Backend> super::Store for SqlStore<DB> {
    fn kind(&self) -> &'static str {
        DB::KIND
    }

    async fn migrate(&self) -> Result<()> {
        DB::migrate(&self.pool).await
    }

    async fn ping(&self) -> Result<()> {
        Sql::<DB>::new("SELECT 1")
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    fn health(&self) -> &Health {
        &self.health
    }

    async fn watch_health(&self) {
        let options = self.pool.connect_options();
        let mut probe: Option<DB::Connection> = None;
        let mut every = tokio::time::interval(health::PROBE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let asked = tokio::time::timeout(health::PROBE_TIMEOUT, async {
                let conn = match &mut probe {
                    Some(conn) => conn,
                    None => probe.insert(DB::Connection::connect_with(&*options).await?),
                };
                conn.ping().await
            })
            .await;
            let result = match asked {
                Ok(Ok(())) => Ok(()),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err(format!("no answer within {:?}", health::PROBE_TIMEOUT)),
            };
            if result.is_err() {
                // A new connection next time: this one may be dead or half-open.
                probe = None;
            }
            self.health.probed(result);
        }
    }

    async fn sweeper_lease(&self) -> Result<Option<super::Lease>> {
        DB::lease(&self.pool).await
    }

    async fn follow(&self) {
        DB::follow(&self.pool, self.feed.clone()).await
    }

    async fn flush_pings(&self, pings: &PendingPings) -> Result<()> {
        let mut tx = self.begin().await?;
        DB::flush_pings(&mut tx, pings).await?;
        tx.commit().await
    }

    fn pool_stats(&self) -> PoolStats {
        // Two separate readings: a connection may change hands in between.
        let open = self.pool.size();
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        PoolStats {
            open,
            idle: idle.min(open),
            max: self.pool.options().get_max_connections(),
        }
    }
}
