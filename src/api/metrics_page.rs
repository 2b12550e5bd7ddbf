//! `GET /metrics`: the Prometheus page (text format 0.0.4), optionally behind
//! `METRICS_TOKEN`: this server's counters, and gauges read at each scrape from the store, the
//! live view, the streams and the heartbeat buffer. README "Observability" lists every series.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::auth::bearer;
use super::error::ApiError;
use super::state::AppState;
use crate::metrics::series;
use crate::secrets;
use crate::service::{AccountCounts, AgentCounts, Status};

/// Above this many accounts the agent gauges are given only in all, not per account (even
/// with `METRICS_ACCOUNT_LABELS` on).
pub const MAX_ACCOUNT_LABELS: i64 = 1000;

/// `GET /metrics`.
async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = state
        .config
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty());
    if let Some(expected) = token {
        let given = bearer(&headers).unwrap_or("");
        // Compared as hashes, so the time taken says nothing about the token.
        if secrets::hash(given) != secrets::hash(expected) {
            return ApiError::InvalidToken.into_response_with(StatusCode::UNAUTHORIZED);
        }
    }
    let page = render(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
        )],
        page,
    )
        .into_response()
}

/// Where the page is served.
pub const METRICS_PATH: &str = "/metrics";

/// The `/metrics` route, to merge into the app's routes (under their layers).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(METRICS_PATH, get(scrape))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}

/// The page. A failing database leaves the agent gauges out (logged) rather than the whole
/// page: the request counts matter most when the database is in trouble. Without
/// `METRICS_ACCOUNT_LABELS`, no account's `userId` is on the page: the counts are read as if
/// there were too many accounts to label (only the totals).
async fn render(state: &AppState) -> String {
    let mut registry = Registry::with_prefix("agentprofile");
    state.metrics.register(&mut registry);
    state.service.webhook_metrics().register(&mut registry);
    register_status(&mut registry, &state.service.status());
    let labels = state.config.metrics_account_labels;
    let max_accounts = if labels { MAX_ACCOUNT_LABELS } else { 0 };
    match state.service.state_counts(max_accounts).await {
        Ok(counts) => {
            // With no account at all, a cap of 0 still lists them all (none).
            let accounts = counts.accounts.filter(|_| labels);
            register_agent_states(&mut registry, &counts.total, accounts)
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot count agent states"),
    }
    let mut page = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_text::encode(&mut page, &registry);
    page
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AccountLabels {
    account: String,
}

fn gauge(value: i64) -> Gauge {
    let gauge = Gauge::<i64>::default();
    gauge.set(value);
    gauge
}

fn count(value: u64) -> Counter {
    let counter = Counter::<u64>::default();
    counter.inc_by(value);
    counter
}

/// The pool, the health probe, the live view, the streams and the heartbeat buffer.
fn register_status(registry: &mut Registry, s: &Status) {
    let connections = Family::<PoolLabels, Gauge>::default();
    for (state, n) in [("idle", s.pool.idle), ("in_use", s.pool.in_use())] {
        connections
            .get_or_create(&PoolLabels { state })
            .set(n.into());
    }
    let lookups = Family::<ResultLabels, Counter>::default();
    for (result, n) in [("hit", s.view.hits), ("miss", s.view.misses)] {
        lookups.get_or_create(&ResultLabels { result }).inc_by(n);
    }
    series! { registry;
        "db_pool_connections", "Open database connections, idle or in use" => connections;
        "db_pool_max_connections", "Most connections the pool opens (DB_MAX_CONNECTIONS)" => gauge(s.pool.max.into());
        "db_up", "1 while the health probe reaches the database, 0 while requests answer 1010 at once" => gauge(s.db_up.into());
        "live_view_up", "1 while reads are answered from memory, 0 while the change feed is down" => gauge(s.view.live.into());
        "live_view_sessions", "Sessions the live view holds" => gauge(s.view.sessions as i64);
        "live_view_agents", "Agents the live view holds" => gauge(s.view.agents as i64);
        "live_view_lookups", "Reads of the live view, by whether it knew the answer" => lookups;
        "streams_open", "Event streams (GET /v1/stream) open on this server" => gauge(s.streams_open as i64);
        "streams_ended", "Event streams this server ended because the client did not keep up or left" => count(s.streams_ended);
        "pings_pending", "Agents with a heartbeat waiting for the next flush" => gauge(s.pings_pending as i64);
        "pings_flushed", "Agents' heartbeats written by the flusher" => count(s.pings_flushed);
    }
}

/// The agent state gauges: name, help, and the count they show.
type AgentState = (&'static str, &'static str, fn(&AgentCounts) -> i64);

const STATES: [AgentState; 4] = [
    (
        "agents_logged_in",
        "Agents with a live session (not ended, expired or idle)",
        |c| c.logged_in,
    ),
    ("agents_on_break", "Agents with an open break", |c| {
        c.on_break
    }),
    (
        "agents_in_wrap_up",
        "Agents in a wrap-up that has not ended or run out",
        |c| c.in_wrap_up,
    ),
    ("agents_on_call", "Agents on a call", |c| c.on_call),
];

/// The agent gauges in all (`…_all_accounts`: `sum()` over the labelled series stays
/// correct) and, when `accounts` is given (METRICS_ACCOUNT_LABELS, up to
/// [`MAX_ACCOUNT_LABELS`] accounts), per account (`user_id`).
fn register_agent_states(
    registry: &mut Registry,
    total: &AgentCounts,
    accounts: Option<Vec<AccountCounts>>,
) {
    for (name, help, count) in STATES {
        registry.register(
            format!("{name}_all_accounts"),
            format!("{help}, in all accounts"),
            gauge(count(total)),
        );
    }
    registry.register(
        "agents_per_account_omitted",
        format!(
            "1 when the agent gauges are given only in all accounts, not per account: \
             METRICS_ACCOUNT_LABELS is off (the default), or there are over {MAX_ACCOUNT_LABELS} accounts"
        ),
        gauge(accounts.is_none().into()),
    );
    let Some(accounts) = accounts else {
        return;
    };
    for (name, help, count) in STATES {
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
