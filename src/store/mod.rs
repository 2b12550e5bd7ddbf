//! Persistence: the `Store` trait and one implementation per database.
//!
//! `Store` is four smaller traits, one file each (accounts, agents, states, history).
//! Each file also holds a macro with its SQL, written in the subset PostgreSQL and
//! SQLite share (`$n` binds, `RETURNING`, partial unique indexes), which `postgres.rs`
//! and `sqlite.rs` expand for their pool type, so the two databases cannot drift apart.
//! Macros rather than a generic impl: sqlx's generic executor bounds would bury these
//! queries under trait plumbing. What really differs (connecting, migrations, how a
//! write transaction begins) lives in `postgres.rs` and `sqlite.rs`.

#[macro_use]
mod history;
#[macro_use]
mod accounts;
#[macro_use]
mod agents;
#[macro_use]
mod states;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Config;
use crate::domain::MicPerm;

pub use accounts::Accounts;
pub use agents::{AgentUpdate, Agents};
pub use history::{EventQuery, History};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use states::{AccountCounts, AgentCounts, ReasonUpdate, RosterRow, StateCounts, States};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (e.g. a second open break).
    #[error("conflicts with an existing row")]
    Conflict,
    /// The agent was disabled by a change that committed first.
    #[error("the agent is disabled")]
    AgentDisabled,
    /// The session was ended by a change that committed first.
    #[error("the session has ended")]
    SessionEnded,
    /// Text the database cannot store.
    #[error("text the database cannot store")]
    BadText,
    #[error("database unreachable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            // SQLite's "database is locked" after the busy timeout: too busy to answer.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
                StoreError::Unavailable(err)
            }
            // PostgreSQL: connection exceptions (08…), the server shutting down or starting
            // (57P01–57P03), the database gone (3D000).
            sqlx::Error::Database(db)
                if db.code().is_some_and(|c| {
                    c.starts_with("08") || c.starts_with("57P0") || c == "3D000"
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

/// What `setWebPingTime` records.
#[derive(Debug, Clone, Copy)]
pub struct Ping {
    pub received_at: i64,
    pub client_time: Option<i64>,
    pub mic_perm: MicPerm,
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
pub trait Store: Accounts + Agents + States + History + Send + Sync + 'static {
    /// Which database this is, for logs and the first-run demo.
    fn kind(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<()>;
    /// How many connections the pool holds and how many of them are idle.
    fn pool_stats(&self) -> PoolStats;
}

/// Expands every part of the store for one pool type.
macro_rules! sql_store {
    ($store:ty, $db:ty, $kind:literal, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn kind(&self) -> &'static str {
                $kind
            }

            async fn migrate(&self) -> $crate::store::Result<()> {
                Self::MIGRATOR.run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> $crate::store::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            fn pool_stats(&self) -> $crate::store::PoolStats {
                // Two separate readings: a connection may change hands in between.
                let open = self.pool.size();
                let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
                $crate::store::PoolStats {
                    open,
                    idle: idle.min(open),
                    max: self.pool.options().get_max_connections(),
                }
            }
        }
        impl_history!($store, $db, $begin);
        impl_accounts!($store, $db, $begin);
        impl_agents!($store, $db, $begin);
        impl_states!($store, $db, $begin);
    };
}

mod postgres;
mod sqlite;

/// Opens the database named by `DATABASE_URL`: PostgreSQL for `postgres://` and
/// `postgresql://` URLs, otherwise an embedded SQLite file. Migrations are applied.
pub async fn connect(config: &Config) -> Result<Arc<dyn Store>> {
    let url = config.database_url.as_str();
    let store: Arc<dyn Store> = if config.is_postgres() {
        Arc::new(PgStore::connect(url, config).await?)
    } else {
        Arc::new(SqliteStore::open(url, config).await?)
    };
    store.migrate().await?;
    Ok(store)
}
