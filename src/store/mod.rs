//! Persistence: the `Store` trait, and one implementation of it for both databases.
//!
//! `Store` is made of one small trait per thing kept, each in its own file with its SQL:
//! accounts (and API tokens), agents, sessions (and pings), reasons, breaks, calls, wraps, history,
//! roster (and the metrics' counts), reports and their roll-up. All of them are implemented
//! once, by `SqlStore<DB>` (`sql.rs`), for any `DB: Backend` (`backend.rs`); `postgres.rs` and `sqlite.rs` say what
//! differs. Every write is one transaction (`tx::Tx`) with its history events; each commit
//! announces what it changed on the change feed (`crate::live`). What the store is given to
//! write is named in `crate::domain` (`input.rs`), what it records in `domain::EventDetails`.

mod accounts;
mod agents;
mod backend;
mod breaks;
mod calls;
mod group_commit;
mod health;
mod history;
mod pg_at_once;
mod pg_commit;
mod postgres;
mod reasons;
mod report_days;
mod reports;
mod roster;
mod sessions;
mod sql;
mod sqlite;
mod stream;
mod tags;
mod tx;
mod webhook_progress;
mod webhooks;
mod wraps;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Postgres, Sqlite};

use crate::live::{Feed, PendingPings};

pub use accounts::Accounts;
pub use agents::Agents;
pub use breaks::Breaks;
pub use calls::Calls;
pub use health::Health;
pub use history::History;
pub use reasons::Reasons;
pub use report_days::{DayTally, RollUps, Seal};
pub use reports::{Changes, ReportAgents, Reports};
pub use roster::{AccountCounts, AgentCounts, Roster, StateCounts};
pub use sessions::Sessions;
use sql::SqlStore;
pub use stream::{PresenceChange, Streams};
pub use tags::{FetchedTags, Tags};
pub use webhook_progress::Progress;
pub use webhooks::Webhooks;
pub use wraps::Wraps;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (e.g. a second open break).
    #[error("conflicts with an existing row")]
    Conflict,
    /// The agent was disabled by a change that committed first.
    #[error("the agent is disabled")]
    AgentDisabled,
    /// The agent is on a call (a break or wrap-up cannot start).
    #[error("the agent is on a call")]
    OnCall,
    /// No active break reason of the account has that code or label.
    #[error("no such active break reason")]
    UnknownReason,
    /// The agent is on break (a call cannot start, unless forced).
    #[error("the agent is on break")]
    OnBreak,
    /// The agent has no live session (a call cannot start).
    #[error("the agent is not logged in")]
    NotLoggedIn,
    /// The session was ended by a change that committed first.
    #[error("the session has ended")]
    SessionEnded,
    /// Text the database cannot store.
    #[error("text the database cannot store")]
    BadText,
    #[error("database unreachable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The health probe cannot reach the database: refused without trying (see [`Health`]).
    #[error("database known unreachable")]
    Down,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            // SQLite (extended codes; the primary one is the low byte): "database is locked"
            // after the busy timeout (BUSY, 5), and storage that refuses writes: READONLY (8),
            // IOERR (10), FULL (13), CANTOPEN (14). The database cannot take the request now:
            // 1010 with HTTP 503, retryable, not a 1032 "something unexpected".
            sqlx::Error::Database(db)
                if sqlite_code(db.as_ref()).is_some_and(|c| matches!(c, 5 | 8 | 10 | 13 | 14)) =>
            {
                StoreError::Unavailable(err)
            }
            // PostgreSQL: connection exceptions (08…), the server shutting down or starting
            // (57P01–57P03), the database gone (3D000), out of resources such as a full disk
            // (53…), a read-only server, e.g. a standby (25006).
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    c.starts_with("08")
                        || c.starts_with("57P0")
                        || c.starts_with("53")
                        || c == "3D000"
                        || c == "25006"
                }) =>
            {
                StoreError::Unavailable(err)
            }
            // PostgreSQL refuses text it cannot store (a NUL character): bad input, not a fault.
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| c == "22021" || c == "22P05") =>
            {
                StoreError::BadText
            }
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(err),
            _ => StoreError::Database(err),
        }
    }
}

/// The primary result code (the low byte of the extended one) of an SQLite error.
pub(crate) fn sqlite_code(err: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    let err = err.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    Some(sqlx::error::DatabaseError::code(err)?.parse::<i32>().ok()? & 0xff)
}

/// The connection pool at one moment, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open now, idle or in use.
    pub open: u32,
    pub idle: u32,
    /// DB_MAX_CONNECTIONS.
    pub max: u32,
}

impl PoolStats {
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// Everything the service keeps. `now` is always passed in: the server's clock decides.
#[async_trait]
pub trait Store:
    Accounts
    + Agents
    + Sessions
    + Reasons
    + Breaks
    + Calls
    + Wraps
    + History
    + Roster
    + Streams
    + Tags
    + Reports
    + RollUps
    + Webhooks
    + Send
    + Sync
    + 'static
{
    /// Which database this is, for logs and the first-run demo.
    fn kind(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<()>;
    /// How many connections the pool holds and how many of them are idle.
    fn pool_stats(&self) -> PoolStats;
    /// Whether the database can be reached, as the last probe found.
    fn health(&self) -> &Health;
    /// Probes the database, keeping [`Store::health`] current, for as long as it is polled.
    async fn watch_health(&self);
    /// Where this store announces its commits, and the view they keep coherent.
    fn feed(&self) -> &Arc<Feed>;
    /// Follows what other processes commit, keeping the view coherent (or off), for as long
    /// as it is polled.
    async fn follow(&self);
    /// Writes coalesced heartbeats, in one transaction.
    async fn flush_pings(&self, pings: &PendingPings) -> Result<()>;
    /// Tidies after the writes (see [`backend::Backend::tidy`]); called every few seconds.
    async fn tidy_writes(&self) -> Result<()>;
    /// The right to be the deployment's one presence sweeper, while it is held (on
    /// PostgreSQL a session advisory lock; on SQLite always this process); None while
    /// another instance holds it.
    async fn sweeper_lease(&self) -> Result<Option<Lease>>;
    /// The right to be the deployment's one webhook deliverer (as [`Store::sweeper_lease`]).
    async fn webhooks_lease(&self) -> Result<Option<Lease>>;
}

/// Which of the deployment-wide leases.
#[derive(Debug, Clone, Copy)]
pub enum LeaseOf {
    Sweeper,
    Webhooks,
}

/// Held by the one presence sweeper of a deployment (see [`Store::sweeper_lease`]).
pub struct Lease {
    /// PostgreSQL: the connection holding the advisory lock; it is released when it closes.
    conn: Option<sqlx::PgConnection>,
}

impl Lease {
    /// Whether it is still held (PostgreSQL: its connection still answers).
    pub async fn held(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => sqlx::Connection::ping(conn).await.is_ok(),
        }
    }
}

/// Where the database is and how the pool uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// `postgres://…` or `postgresql://…` for PostgreSQL; otherwise an SQLite file
    /// (`sqlite://PATH`, `sqlite:PATH` or a path).
    pub url: String,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long to wait for a connection (shorter than the request timeout, so that an
    /// unreachable database answers 1010).
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }
}

/// Opens the database: PostgreSQL for `postgres://` and `postgresql://` URLs, otherwise an
/// embedded SQLite file. Migrations are applied.
pub async fn connect(options: &StoreOptions) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if options.is_postgres() {
        Arc::new(SqlStore::<Postgres>::connect(options).await?)
    } else {
        Arc::new(SqlStore::<Sqlite>::connect(options).await?)
    };
    store.migrate().await?;
    Ok(store)
}
