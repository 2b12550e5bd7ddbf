//! This server's counters, served at `GET /metrics` (the page, with the gauges read at each
//! scrape, is `api::metrics_page`; README "Observability" lists every series).
//!
//! Each server owns its [`Metrics`] (nothing global), so servers started side by side in one
//! process, as the tests do, never count each other's requests. Labels hold no ssid, token,
//! agent id or raw URI, and each has a bounded set of values.

mod connections;
mod webhooks;

use std::collections::HashSet;
use std::sync::{LazyLock, RwLock};
use std::time::Duration;

use axum::http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use connections::{ConnectionMetrics, HEADER, IDLE, TimeoutLabels};
pub use webhooks::WebhookMetrics;

/// Registers series on a registry, one `name, help => metric;` each: a page's series read as
/// a table.
macro_rules! series {
    ($registry:expr; $($name:expr, $help:expr => $metric:expr;)*) => {
        $( $registry.register($name, $help, $metric); )*
    };
}
pub(crate) use series;

/// The `route` of a request no route matched: never its URI, which is the client's to choose.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// A route template as a label, interned: a request's label then costs a lookup, not the
/// three copies of the template it cost as a `String`. Templates are the router's (a client
/// cannot make new ones: an unmatched request is [`UNMATCHED_ROUTE`]), so the set is bounded.
pub fn route_label(route: &str) -> &'static str {
    static ROUTES: LazyLock<RwLock<HashSet<&'static str>>> = LazyLock::new(Default::default);
    if let Some(known) = ROUTES.read().unwrap_or_else(|e| e.into_inner()).get(route) {
        return known;
    }
    let mut routes = ROUTES.write().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = routes.get(route) {
        return known;
    }
    let interned: &'static str = Box::leak(route.into());
    routes.insert(interned);
    interned
}

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
    /// The envelope's code, or 0 when the answer carries no error envelope.
    code: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusedLabels {
    by: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// One server's counters. Cloning a family shares its values.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    auth_failures: Counter,
    auth_refused: Family<RefusedLabels, Counter>,
    /// Counted by the server loop (`net`).
    pub connections: ConnectionMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            auth_failures: Counter::default(),
            auth_refused: Family::default(),
            connections: ConnectionMetrics::default(),
        }
    }

    /// Counts a failed authentication that was a guess (see `api::throttle`).
    pub fn auth_failed(&self) {
        self.auth_failures.inc();
    }

    /// Counts an attempt refused by the throttle, `by` the address or the `userId`.
    pub fn auth_refused(&self, by: &'static str) {
        self.auth_refused.get_or_create(&RefusedLabels { by }).inc();
    }

    /// Counts one answer.
    pub fn record(
        &self,
        route: &'static str,
        method: &Method,
        status: u16,
        code: u16,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
                code,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route, method })
            .observe(elapsed.as_secs_f64());
    }

    /// Registers these counters (shared, not copied) on a page's registry.
    pub fn register(&self, registry: &mut Registry) {
        series! { registry;
            "http_requests", "Answers by route template, method, HTTP status and envelope code (0: no error envelope)" => self.requests.clone();
            "http_request_duration_seconds", "Time to answer, by route template and method" => self.latency.clone();
        }
        self.connections.register(registry);
        series! { registry;
            "auth_failures", "Failed authentications that count as guesses (unknown ssid or token)" => self.auth_failures.clone();
            "auth_throttled", "Attempts refused with 429 (1515), by the blocked address or userId" => self.auth_refused.clone();
        }
    }
}

/// The method as a label: the standard ones by name, any other (clients may invent
/// methods) as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}
