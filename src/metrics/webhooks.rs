//! Webhook deliveries, kept by the deliverer: attempts by result, and how far each endpoint
//! lags behind its account's events. Labelled by the endpoint's id only, never by account.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::series;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AttemptLabels {
    webhook: String,
    /// `success` (a 2xx) or `failure`.
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndpointLabels {
    webhook: String,
}

/// Cloning shares the values. Only the deployment's deliverer counts: on the other
/// instances the series stay empty.
#[derive(Debug, Clone, Default)]
pub struct WebhookMetrics {
    attempts: Family<AttemptLabels, Counter>,
    lag_events: Family<EndpointLabels, Gauge>,
    lag_seconds: Family<EndpointLabels, Gauge>,
}

impl WebhookMetrics {
    /// Counts `n` attempts at the endpoint with this result.
    pub fn attempted(&self, webhook: i64, ok: bool, n: u64) {
        let result = if ok { "success" } else { "failure" };
        self.attempts
            .get_or_create(&AttemptLabels {
                webhook: webhook.to_string(),
                result,
            })
            .inc_by(n);
    }

    /// The endpoint's events not yet delivered, and the age of the oldest in seconds.
    pub fn lag(&self, webhook: i64, events: i64, oldest_secs: i64) {
        let labels = EndpointLabels {
            webhook: webhook.to_string(),
        };
        self.lag_events.get_or_create(&labels).set(events);
        self.lag_seconds.get_or_create(&labels).set(oldest_secs);
    }

    /// Forgets an endpoint that is no longer delivered to (deleted, disabled).
    pub fn forget(&self, webhook: i64) {
        let labels = EndpointLabels {
            webhook: webhook.to_string(),
        };
        self.lag_events.remove(&labels);
        self.lag_seconds.remove(&labels);
    }

    pub fn register(&self, registry: &mut Registry) {
        series! { registry;
            "webhook_deliveries", "Webhook delivery attempts by endpoint id and result (success: a 2xx)" => self.attempts.clone();
            "webhook_lag_events", "Events the endpoint has yet to have: in hand, plus its account's backlog beyond the last read" => self.lag_events.clone();
            "webhook_lag_seconds", "Age of the oldest event not yet delivered to the endpoint (0: none)" => self.lag_seconds.clone();
        }
    }
}
