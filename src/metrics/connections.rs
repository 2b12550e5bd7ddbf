//! Client connection counts, kept by the server loop (`net`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::series;

/// Which timeout closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct TimeoutLabels {
    pub timeout: &'static str,
}

/// No complete request head in time.
pub const HEADER: TimeoutLabels = TimeoutLabels { timeout: "header" };
/// No next request in time.
pub const IDLE: TimeoutLabels = TimeoutLabels { timeout: "idle" };

/// Cloning shares the values.
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    accepted: Counter,
    timed_out: Family<TimeoutLabels, Counter>,
    limit_waits: Counter,
}

impl ConnectionMetrics {
    pub fn accepted(&self) {
        self.accepted.inc();
    }

    pub fn opened(&self) {
        self.open.inc();
    }

    pub fn closed(&self) {
        self.open.dec();
    }

    pub fn timed_out(&self, why: TimeoutLabels) {
        self.timed_out.get_or_create(&why).inc();
    }

    /// Accepting paused at `MAX_CONNECTIONS`.
    pub fn limit_wait(&self) {
        self.limit_waits.inc();
    }

    pub fn register(&self, registry: &mut Registry) {
        series! { registry;
            "connections_open", "Client connections open" => self.open.clone();
            "connections_accepted", "Client connections accepted" => self.accepted.clone();
            "connections_timed_out", "Client connections closed by the header timeout (nothing or half a request head sent in time) or the idle timeout (no next request)" => self.timed_out.clone();
            "connections_limit_waits", "Times accepting paused because MAX_CONNECTIONS connections were open" => self.limit_waits.clone();
        }
    }
}
