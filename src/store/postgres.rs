//! PostgreSQL, the production database.

use std::time::Duration;

use sqlx::Pool;
use sqlx::postgres::{PgPoolOptions, PgQueryResult, Postgres};

use super::sql::{Backend, BoxFuture, RowsAffected};
use crate::config::Config;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Backend for Postgres {
    const KIND: &'static str = "postgres";
    const BEGIN: &'static str = "BEGIN";

    fn connect(url: &str, config: &Config) -> BoxFuture<'static, super::Result<Pool<Self>>> {
        let options = PgPoolOptions::new()
            .max_connections(config.db_max_connections)
            // Shorter than the request timeout, so an unreachable database answers 1010.
            .acquire_timeout(Duration::from_secs(config.db_acquire_timeout_secs));
        let url = url.to_owned();
        Box::pin(async move { Ok(options.connect(&url).await?) })
    }

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, super::Result<()>> {
        Box::pin(async move { Ok(MIGRATOR.run(pool).await?) })
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}
