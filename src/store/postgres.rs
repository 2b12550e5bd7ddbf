//! PostgreSQL, the production database.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::config::Config;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    pub async fn connect(url: &str, config: &Config) -> super::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections)
            // Shorter than the request timeout, so an unreachable database answers 1010.
            .acquire_timeout(Duration::from_secs(config.db_acquire_timeout_secs))
            .connect(url)
            .await?;
        Ok(PgStore { pool })
    }
}

sql_store!(PgStore, sqlx::Postgres, "postgres", "BEGIN");
