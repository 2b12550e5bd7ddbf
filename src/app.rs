//! Builds the router and its layers, and serves it until the shutdown future resolves.

pub use crate::api::AppState;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, Response, header};
use axum::middleware;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::api::envelope::{AnswerCode, JSON_UTF8};
use crate::api::{self, ApiError};
use crate::config::{Config, origin_list};

#[derive(Debug, thiserror::Error)]
#[error("CORS_ALLOWED_ORIGINS: {0:?} is not a valid origin")]
pub struct BadOrigin(String);

/// The browser rules upstream answers with: any origin, these methods and headers, credentials.
fn cors(config: &Config) -> Result<CorsLayer, BadOrigin> {
    let allow_origin = match origin_list(&config.cors_allowed_origins) {
        // Upstream sends `*` with credentials, which browsers refuse for credentialed
        // requests; echoing the origin answers both kinds.
        None => AllowOrigin::mirror_request(),
        Some(list) => AllowOrigin::list(
            list.into_iter()
                .map(|o| HeaderValue::from_str(o).map_err(|_| BadOrigin(o.to_owned())))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::POST,
            Method::GET,
            Method::OPTIONS,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            HeaderName::from_static("x-requested-with"),
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
        ])
        .allow_credentials(true))
}

/// The whole service: the API's routes with body limit, timeout and CORS; /metrics; then,
/// inside out, the panic guard, request metrics, request spans, request ids, the JSON
/// content type on every answer, `nosniff`, and HSTS when configured.
pub fn router(state: AppState) -> Result<Router, BadOrigin> {
    let config = state.config.clone();
    let timeout = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            ApiError::Timeout
        }))
        .timeout(Duration::from_secs(config.request_timeout_secs));
    let trace = TraceLayer::new_for_http()
        // Named by the matched route; the URI is left out: its query string may hold an ssid.
        .make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), route = %route, request_id)
        })
        .on_request(())
        .on_response(|res: &Response<_>, latency: Duration, _: &Span| {
            let code = res.extensions().get::<AnswerCode>().map(|c| c.0);
            tracing::info!(
                status = res.status().as_u16(),
                code,
                latency_ms = latency.as_millis() as u64,
                "answered"
            );
        });
    let count = middleware::from_fn_with_state(state.metrics.clone(), api::track);
    Ok(api::routes()
        .layer(DefaultBodyLimit::max(config.body_limit_bytes as usize))
        .layer(timeout)
        // Browsers may call the API (its errors included), never /metrics: no CORS there.
        .layer(cors(&config)?)
        .merge(api::metrics_routes())
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::Internal.into_response()
        }))
        // After routing (it reads the MatchedPath), outside all that may answer an error.
        .layer(count)
        .layer(trace)
        // X-Request-Id: the client's when it sends one, else a new UUID; on every log line of
        // the request (its span) and returned in the answer.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_UTF8),
        ))
        // Browsers must take every answer for what its Content-Type says.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(tower::util::option_layer(config.hsts.then(|| {
            SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            )
        })))
        .with_state(state))
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish (connection limits
/// and timeouts: see [`crate::net`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let service = state.service.clone();
    let flush_every = Duration::from_millis(state.config.ping_flush_ms);
    let limits = crate::net::Limits::from(&*state.config);
    let connections = state.metrics.connections.clone();
    let guard = state.guard.clone();
    let router = router(state)?;
    // The database's health probe, the change feed, the heartbeat flusher, the delivery of
    // events to streams and to webhooks, the sweeper and the throttle's tidying, stopped with the server
    // (dropped too).
    let mut background = JoinSet::new();
    background.spawn({
        let service = service.clone();
        async move { service.watch_health().await }
    });
    background.spawn({
        let service = service.clone();
        async move { service.follow_changes().await }
    });
    background.spawn({
        let service = service.clone();
        async move { service.flush_pings_every(flush_every).await }
    });
    background.spawn({
        let service = service.clone();
        async move { service.deliver_events().await }
    });
    background.spawn({
        let service = service.clone();
        async move { service.deliver_webhooks().await }
    });
    let sweep_every = service.config().sweep_interval_ms;
    if sweep_every > 0 {
        background.spawn({
            let service = service.clone();
            async move {
                service
                    .sweep_every(Duration::from_millis(sweep_every))
                    .await
            }
        });
    }
    // The throttle forgets clients whose window has passed.
    background.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            guard.tidy();
        }
    });
    // Streams never end by themselves: they are ended when the shutdown begins, so that
    // the graceful shutdown does not wait for them.
    let closer = service.clone();
    let shutdown = async move {
        shutdown.await;
        closer.close_streams();
    };
    crate::net::serve(listener, router, limits, connections, shutdown).await;
    background.shutdown().await;
    // What the last requests noted is written before the process ends.
    service.flush_pings_now().await;
    Ok(())
}
