//! Prometheus metrics, served at `GET /metrics` in the Prometheus text format (0.0.4).
//!
//! Each [`AppState`] owns its [`Metrics`] (a registry of its own, nothing global), so servers
//! started side by side in one process, as the tests do, never count each other's requests.
//!
//! Counted by the middleware, for every answer (errors, 404, 405, 413 and timeouts too):
//! - `agentprofile_http_requests_total{route, method, status, code}`
//! - `agentprofile_http_request_duration_seconds{route, method}` (histogram; until the
//!   answer's head is ready: bodies here are small and already in memory)
//!
//! Counted by the server loop (`net`): `agentprofile_connections_open`,
//! `agentprofile_connections_accepted_total`, `agentprofile_connections_timed_out_total{timeout="header"|"idle"}`,
//! `agentprofile_connections_limit_waits_total` (accepting paused at `MAX_CONNECTIONS`).
//!
//! Counted by the auth throttle (`api::throttle`): `agentprofile_auth_failures_total`
//! (failed authentications that count as guesses) and
//! `agentprofile_auth_throttled_total{by="address"|"user"}` (attempts refused with 429).
//!
//! Read at each scrape:
//! - `agentprofile_db_pool_connections{state="idle"|"in_use"}`, `agentprofile_db_pool_max_connections`
//! - `agentprofile_db_up` (0 while the health probe cannot reach the database)
//! - `agentprofile_agents_logged_in{account}`, `agentprofile_agents_on_break{account}`,
//!   `agentprofile_agents_in_wrap_up{account}`, and the same summed over every account as
//!   `…_all_accounts` (no label: `sum()` over the labelled series stays correct), from one
//!   read-only aggregate query (and a second for the totals above the cap below).
//!
//! - `agentprofile_live_view_up` (1 while the live view answers, 0 while its change feed is
//!   down), `agentprofile_live_view_sessions`, `agentprofile_live_view_agents`,
//!   `agentprofile_live_view_lookups_total{result="hit"|"miss"}`;
//! - `agentprofile_streams_open`, `agentprofile_streams_ended_total` (a client that did not
//!   keep up, or left);
//! - `agentprofile_pings_pending` (agents with a heartbeat waiting for the next flush),
//!   `agentprofile_pings_flushed_total`.
//!
//! Labels hold no ssid, token, agent id or raw URI, and each has a bounded set of values:
//! - `route`: the route's template (`MatchedPath`), or `unmatched` when no route matched;
//! - `method`: the standard methods, any other is `other`;
//! - `status`: the HTTP status;
//! - `code`: the envelope's `code` (`1502`, `1047`…), or `0` when the answer carries no error
//!   envelope (successes, health checks, CORS preflights, this page): upstream's own codes
//!   are never 0, and the tests' `code()` helper reads a success as 0 too;
//! - `account`: the account's `user_id`, one series per account and state: bounded by the
//!   number of accounts, and dropped altogether above [`MAX_ACCOUNT_LABELS`] accounts, when
//!   only the `…_all_accounts` totals are given (and `agentprofile_agents_per_account_omitted`
//!   is 1).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::domain::now_unix;
use crate::live::Pings;
use crate::store::{AgentCounts, Store};

/// Above this many accounts the agent gauges are given only in all, not per account.
pub const MAX_ACCOUNT_LABELS: i64 = 1000;

/// The `route` of a request no route matched: never its URI, which is the client's to choose.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
    code: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusedLabels {
    by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AccountLabels {
    account: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// One server's request metrics. Cloning a family shares its values.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    auth_failures: Counter,
    auth_refused: Family<RefusedLabels, Counter>,
    /// Counted by the server loop (`net`).
    pub connections: crate::net::ConnectionMetrics,
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
            connections: crate::net::ConnectionMetrics::default(),
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
    pub fn record(&self, route: &str, method: &Method, status: u16, code: u16, elapsed: Duration) {
        let method = method_label(method);
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method,
                status,
                code,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The page: these counters, and what the store says now. A failing database leaves
    /// the agent gauges out (logged) rather than the whole page: the request counts matter
    /// most when the database is in trouble.
    pub async fn render(&self, store: &dyn Store, pings: &Pings, idle_timeout_secs: i64) -> String {
        let mut registry = Registry::with_prefix("agentprofile");
        registry.register(
            "http_requests",
            "Answers by route template, method, HTTP status and envelope code (0: no error envelope)",
            self.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route template and method",
            self.latency.clone(),
        );
        self.connections.register(&mut registry);

        registry.register(
            "auth_failures",
            "Failed authentications that count as guesses (unknown ssid or token)",
            self.auth_failures.clone(),
        );
        registry.register(
            "auth_throttled",
            "Attempts refused with 429 (1515), by the blocked address or userId",
            self.auth_refused.clone(),
        );

        let pool = store.pool_stats();
        let connections = Family::<PoolLabels, Gauge>::default();
        connections
            .get_or_create(&PoolLabels { state: "idle" })
            .set(pool.idle.into());
        connections
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(pool.in_use().into());
        registry.register(
            "db_pool_connections",
            "Open database connections, idle or in use",
            connections,
        );
        let max = Gauge::<i64>::default();
        max.set(pool.max.into());
        registry.register(
            "db_pool_max_connections",
            "Most connections the pool opens (DB_MAX_CONNECTIONS)",
            max,
        );

        let up = Gauge::<i64>::default();
        up.set((!store.health().is_down()).into());
        registry.register(
            "db_up",
            "1 while the health probe reaches the database, 0 while requests answer 1010 at once",
            up,
        );

        register_live(&mut registry, store, pings);

        match store
            .state_counts(now_unix(), idle_timeout_secs, MAX_ACCOUNT_LABELS)
            .await
        {
            Ok(counts) => register_agent_states(&mut registry, &counts.total, counts.accounts),
            Err(err) => tracing::warn!(error = %err, "metrics: cannot count agent states"),
        }

        let mut page = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_text::encode(&mut page, &registry);
        page
    }
}

/// The live view and the heartbeat buffer, as they are now.
fn register_live(registry: &mut Registry, store: &dyn Store, pings: &Pings) {
    let view = store.feed().view().stats();
    let gauge = |value: i64| {
        let gauge = Gauge::<i64>::default();
        gauge.set(value);
        gauge
    };
    let count = |value: u64| {
        let counter = Counter::<u64>::default();
        counter.inc_by(value);
        counter
    };
    registry.register(
        "live_view_up",
        "1 while reads are answered from memory, 0 while the change feed is down",
        gauge(view.live.into()),
    );
    registry.register(
        "live_view_sessions",
        "Sessions the live view holds",
        gauge(view.sessions as i64),
    );
    registry.register(
        "live_view_agents",
        "Agents the live view holds",
        gauge(view.agents as i64),
    );
    let lookups = Family::<ResultLabels, Counter>::default();
    for (result, n) in [("hit", view.hits), ("miss", view.misses)] {
        lookups.get_or_create(&ResultLabels { result }).inc_by(n);
    }
    registry.register(
        "live_view_lookups",
        "Reads of the live view, by whether it knew the answer",
        lookups,
    );
    let hub = store.feed().hub();
    registry.register(
        "streams_open",
        "Event streams (GET /v1/stream) open on this server",
        gauge(hub.open_streams() as i64),
    );
    registry.register(
        "streams_ended",
        "Event streams this server ended because the client did not keep up or left",
        count(hub.ended_streams()),
    );
    registry.register(
        "pings_pending",
        "Agents with a heartbeat waiting for the next flush",
        gauge(pings.pending() as i64),
    );
    registry.register(
        "pings_flushed",
        "Agents' heartbeats written by the flusher",
        count(pings.flushed_total()),
    );
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// One agent state gauge: its name, help, and count.
struct AgentState {
    name: &'static str,
    help: &'static str,
    count: fn(&AgentCounts) -> i64,
}

const STATES: [AgentState; 3] = [
    AgentState {
        name: "agents_logged_in",
        help: "Agents with a live session (not ended, expired or idle)",
        count: |c| c.logged_in,
    },
    AgentState {
        name: "agents_on_break",
        help: "Agents with an open break",
        count: |c| c.on_break,
    },
    AgentState {
        name: "agents_in_wrap_up",
        help: "Agents in a wrap-up that has not ended or run out",
        count: |c| c.in_wrap_up,
    },
];

fn register_agent_states(
    registry: &mut Registry,
    total: &AgentCounts,
    accounts: Option<Vec<crate::store::AccountCounts>>,
) {
    for AgentState { name, help, count } in STATES {
        let gauge = Gauge::<i64>::default();
        gauge.set(count(total));
        registry.register(
            format!("{name}_all_accounts"),
            format!("{help}, in all accounts"),
            gauge,
        );
    }
    let omitted = Gauge::<i64>::default();
    omitted.set(accounts.is_none().into());
    registry.register(
        "agents_per_account_omitted",
        format!("1 when there are over {MAX_ACCOUNT_LABELS} accounts: the agent gauges are then given only in all"),
        omitted,
    );
    let Some(accounts) = accounts else {
        return;
    };
    for AgentState { name, help, count } in STATES {
        let family = Family::<AccountLabels, Gauge>::default();
        for a in &accounts {
            family
                .get_or_create(&AccountLabels {
                    account: a.user_id.clone(),
                })
                .set(count(&a.counts));
        }
        registry.register(name, format!("{help}, by account (user_id)"), family);
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

/// The envelope code an error answer carries (in its extensions), for the metrics and the
/// access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerCode(pub u16);

/// Middleware (`Router::layer`, so it runs after routing): counts and times every answer.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let code = response.extensions().get::<AnswerCode>().map_or(0, |c| c.0);
    metrics.record(
        &route,
        &method,
        response.status().as_u16(),
        code,
        start.elapsed(),
    );
    response
}
