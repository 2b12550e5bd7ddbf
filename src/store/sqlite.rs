//! The embedded SQLite file: the zero-setup default.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Pool;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};

use super::sql::{Backend, BoxFuture, RowsAffected};
use crate::config::Config;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Backend for Sqlite {
    const KIND: &'static str = "sqlite";
    /// Takes the write lock at once: two writers never both read, then fail to upgrade.
    const BEGIN: &'static str = "BEGIN IMMEDIATE";

    /// Opens (creating it and its folders if needed) the file named by `url`:
    /// `sqlite://path`, `sqlite:path` or a plain path.
    fn connect(url: &str, config: &Config) -> BoxFuture<'static, super::Result<Pool<Self>>> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url)
            .to_owned();
        let wait = Duration::from_secs(config.db_acquire_timeout_secs);
        let max_connections = config.db_max_connections;
        Box::pin(async move {
            if let Some(dir) = Path::new(&path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged write survives a power cut, not only a process crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(wait);
            Ok(SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(wait)
                .connect_with(options)
                .await?)
        })
    }

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, super::Result<()>> {
        Box::pin(async move { Ok(MIGRATOR.run(pool).await?) })
    }
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}
