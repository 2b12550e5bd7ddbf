//! Persistence: the `Store` trait and one implementation per database.
//!
//! Both implementations are generated from one body of SQL (`sql.rs`), written in the
//! subset PostgreSQL and SQLite share (`$n` binds, `RETURNING`, partial unique indexes),
//! so the two cannot drift apart. What differs (connecting, migrations, how a write
//! transaction begins) lives in `postgres.rs` and `sqlite.rs`.

#[macro_use]
mod sql;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::Config;
use crate::domain::{Account, Agent, Break, MicPerm, SessionContext, WrapUp};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write (e.g. a second open break).
    #[error("conflicts with an existing row")]
    Conflict,
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
            // SQLite's "database is locked" after the busy timeout: the database is too busy to answer.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
                StoreError::Unavailable(err)
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

/// Everything the service keeps. `now` is always passed in: the server's clock decides.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which database this is, for logs and the first-run demo.
    fn kind(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<()>;
    /// True when no account exists yet (a brand-new database).
    async fn is_empty(&self) -> Result<bool>;

    async fn create_account(&self, user_id: &str, name: &str, now: i64) -> Result<Account>;
    async fn account(&self, user_id: &str) -> Result<Option<Account>>;
    async fn set_suspended(&self, account_pk: i64, suspended: bool) -> Result<()>;
    async fn create_token(&self, account_pk: i64, token_hash: &str, now: i64) -> Result<()>;
    /// The account whose `user_id` is given and which owns an unrevoked token of this hash.
    async fn account_by_token(&self, user_id: &str, token_hash: &str) -> Result<Option<Account>>;

    async fn create_agent(
        &self,
        account_pk: i64,
        agent_id: &str,
        name: &str,
        wrap_seconds: i64,
        now: i64,
    ) -> Result<Agent>;
    async fn agent(&self, account_pk: i64, agent_id: &str) -> Result<Option<Agent>>;

    async fn create_session(
        &self,
        agent_pk: i64,
        ssid_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<()>;
    /// The session of this ssid hash, live or not: liveness is the caller's rule.
    async fn session(&self, ssid_hash: &str) -> Result<Option<SessionContext>>;
    /// Records a heartbeat on the agent, and refreshes the session it came through.
    async fn record_ping(&self, agent_pk: i64, session_pk: Option<i64>, ping: Ping) -> Result<()>;

    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>>;
    /// `Conflict` when the agent already has an open break.
    async fn start_break(
        &self,
        agent_pk: i64,
        reason: &str,
        limit_seconds: Option<i64>,
        now: i64,
    ) -> Result<Break>;
    /// Ends the open break, if any, and returns it.
    async fn end_break(&self, agent_pk: i64, now: i64) -> Result<Option<Break>>;

    /// The agent's wrap-up that is still running at `now`.
    async fn active_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>>;
    /// `Conflict` when a wrap-up is still running; one that ran out is closed first.
    async fn start_wrap_up(
        &self,
        agent_pk: i64,
        call_id: &str,
        customer_number: &str,
        now: i64,
        ends_at: Option<i64>,
    ) -> Result<WrapUp>;
    /// Ends the running wrap-up, if any, and returns it.
    async fn end_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>>;
}

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
