//! Logging: human-readable by default, JSON with LOG_FORMAT=json.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

pub fn init(config: &Config) {
    // LOG_LEVEL was checked when the configuration was read.
    let mut filter =
        EnvFilter::try_new(&config.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    // PostgreSQL's notices, logged by sqlx at info: the migrator's "relation _sqlx_migrations
    // already exists, skipping" on every start and every CLI command, which buried the CLI's
    // own output. Shown again when LOG_LEVEL names sqlx.
    if !config.log_level.contains("sqlx") {
        filter = filter.add_directive("sqlx::postgres::notice=warn".parse().expect("a directive"));
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match config.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
