//! How the server is doing, for the health probes and the metrics page: what the store, the
//! live view, the streams and the heartbeat buffer say now.

use super::{Result, Service};
use crate::domain::now_unix;
use crate::live::ViewStats;
pub use crate::store::{AccountCounts, AgentCounts, PoolStats, StateCounts};

/// The server's moving parts at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    pub pool: PoolStats,
    /// False while the health probe cannot reach the database.
    pub db_up: bool,
    pub view: ViewStats,
    pub streams_open: usize,
    pub streams_ended: u64,
    pub pings_pending: usize,
    pub pings_flushed: u64,
}

impl Service {
    /// `postgres` or `sqlite`.
    pub fn database_kind(&self) -> &'static str {
        self.store.kind()
    }

    /// Succeeds when the database answers a query.
    pub async fn ping_database(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Probes the database for as long as it is polled; while it cannot be reached, every
    /// request that needs it is refused at once.
    pub async fn watch_health(&self) {
        self.store.watch_health().await
    }

    /// Tidies after the writes every `every` (the store says what that takes), for as long
    /// as it is polled; a failure is logged, and tried again at the next tick.
    pub async fn tidy_writes_every(&self, every: std::time::Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = self.store.tidy_writes().await {
                tracing::warn!(error = %err, "tidying after the writes failed");
            }
        }
    }

    pub fn status(&self) -> Status {
        let hub = self.store.feed().hub();
        Status {
            pool: self.store.pool_stats(),
            db_up: !self.store.health().is_down(),
            view: self.store.feed().view().stats(),
            streams_open: hub.open_streams(),
            streams_ended: hub.ended_streams(),
            pings_pending: self.pings.pending(),
            pings_flushed: self.pings.flushed_total(),
        }
    }

    /// How many agents are logged in, on break and in wrap-up now, per account up to
    /// `max_accounts` accounts (read-only).
    pub async fn state_counts(&self, max_accounts: i64) -> Result<StateCounts> {
        let idle = self.config.session_idle_timeout_secs;
        Ok(self
            .store
            .state_counts(now_unix(), idle, max_accounts)
            .await?)
    }
}
