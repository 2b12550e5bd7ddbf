//! The one store: `SqlStore<DB>`, its SQL written once for both databases (see
//! `backend.rs`). Each store file implements one of its traits; here are its connections,
//! its transactions' beginning, and the [`Store`](super::Store) trait itself.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::{Pool, TransactionManager};

use super::agents::lock_enabled_agent;
use super::backend::{Backend, Sql};
use super::group_commit::Turns;
use super::tx::Tx;
use super::{Health, Lease, PoolStats, Result, StoreError, StoreOptions, health};

/// The SQLSTATE of PostgreSQL's `lock_enabled_agent` (migration 0010) for a disabled agent.
const AGENT_DISABLED: &str = "APDIS";
use crate::domain::BreakReason;
use crate::live::{Feed, PendingPings};

/// The store on one database.
pub struct SqlStore<DB: Backend> {
    pub(super) pool: Pool<DB>,
    pub(super) feed: Arc<Feed>,
    /// Each account's group commit (see `group_commit.rs`), and the connections its runs
    /// take ([`Backend::runs_pool`]).
    pub(super) turns: Arc<Turns>,
    pub(super) runs: Pool<DB>,
    /// The break reasons names resolved to, by account and name as given: what a break
    /// start sent whole assumes, and the database checks (see `pg_at_once.rs`).
    pub(super) reasons: std::sync::Mutex<std::collections::HashMap<(i64, String), BreakReason>>,
    health: Health,
}

impl<DB: Backend> SqlStore<DB> {
    pub async fn connect(options: &StoreOptions) -> Result<Self> {
        let pool = DB::connect(options).await?;
        Ok(SqlStore {
            runs: DB::runs_pool(&pool, options)?,
            pool,
            feed: Feed::new(),
            turns: Arc::default(),
            reasons: Default::default(),
            health: Health::default(),
        })
    }

    /// A connection for reads.
    pub(super) async fn conn(&self) -> Result<PoolConnection<DB>> {
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
        loop {
            let mut conn = Beginning(Some(self.conn().await?));
            match DB::TransactionManager::begin(conn.get(), Some(DB::BEGIN.into())).await {
                Ok(()) => return Ok(Tx::new(conn.begun(), self)),
                Err(sqlx::Error::InvalidSavePointStatement) => {
                    tracing::warn!("closing a connection left inside a failed transaction");
                    let _ = conn.begun().close().await;
                }
                Err(sqlx::Error::Database(db)) if super::sqlite_code(db.as_ref()) == Some(8) => {
                    let _ = conn.begun().close().await;
                    read_only += 1;
                    if read_only > self.pool.options().get_max_connections() {
                        return Err(sqlx::Error::Database(db).into());
                    }
                }
                // Closed (`Beginning`): a connection whose BEGIN failed is not trusted.
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// A write transaction on one agent: its row locked until the end, and the agent found
    /// enabled (see [`lock_enabled_agent`]); `AgentDisabled` otherwise. On PostgreSQL the lock
    /// travels in the BEGIN's message ([`Backend::begin_on_agent`]): one round trip fewer.
    pub(super) async fn begin_on_agent(&self, agent_pk: i64) -> Result<Tx<DB>> {
        let Some(begin) = DB::begin_on_agent(agent_pk) else {
            let mut tx = self.begin().await?;
            lock_enabled_agent::<DB>(&mut tx, agent_pk).await?;
            return Ok(tx);
        };
        loop {
            let mut conn = Beginning(Some(self.conn().await?));
            match DB::TransactionManager::begin(conn.get(), Some(begin.clone().into())).await {
                Ok(()) => return Ok(Tx::new(conn.begun(), self)),
                Err(sqlx::Error::InvalidSavePointStatement) => {
                    tracing::warn!("closing a connection left inside a failed transaction");
                    let _ = conn.begun().close().await;
                }
                Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(AGENT_DISABLED) => {
                    // Its transaction failed, and sqlx, which counts only those begun, does
                    // not roll it back: done here (or the connection is not reused).
                    if Sql::<DB>::new("ROLLBACK").execute(conn.get()).await.is_ok() {
                        drop(conn.begun());
                    }
                    return Err(StoreError::AgentDisabled);
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}

/// A connection whose BEGIN is under way: closed, not given back to the pool, if dropped
/// before [`Beginning::begun`] (a request given up meanwhile, or a failed BEGIN). sqlx rolls
/// back, on a drop, only a transaction it has counted, and a BEGIN sent but not yet answered
/// is not one: the connection would go back to the pool inside the transaction (holding the
/// agent's lock, or failed, refusing every later statement).
struct Beginning<DB: Backend>(Option<PoolConnection<DB>>);

impl<DB: Backend> Beginning<DB> {
    fn get(&mut self) -> &mut PoolConnection<DB> {
        self.0.as_mut().expect("a connection until begun")
    }

    /// The connection, kept: its BEGIN answered, or it is closed or clean.
    fn begun(mut self) -> PoolConnection<DB> {
        self.0.take().expect("a connection until begun")
    }
}

impl<DB: Backend> Drop for Beginning<DB> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.as_mut() {
            conn.close_on_drop();
        }
    }
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
        health::watch::<DB>(&self.pool, &self.health).await
    }

    async fn sweeper_lease(&self) -> Result<Option<Lease>> {
        DB::lease(&self.pool, super::LeaseOf::Sweeper).await
    }

    async fn webhooks_lease(&self) -> Result<Option<Lease>> {
        DB::lease(&self.pool, super::LeaseOf::Webhooks).await
    }

    async fn follow(&self) {
        DB::follow(&self.pool, self.feed.clone()).await
    }

    async fn tidy_writes(&self) -> Result<()> {
        DB::tidy(&self.pool).await
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
