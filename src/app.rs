//! Builds the router and its layers, and serves it until the shutdown future resolves.

pub use crate::api::AppState;

use std::convert::Infallible;
use std::future::Future;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Bytes, HttpBody};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, Response, header};
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::api::envelope::{AnswerCode, JSON_UTF8};
use crate::api::track::{LabelLayer, TrackLayer};
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
        .allow_credentials(true)
        // Added by `vary()` instead, as one ready value (the layer builds it per request).
        .vary(Vec::<HeaderName>::new()))
}

/// The `Vary` of every API answer (what tower-http's CORS layer adds by default).
fn vary() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::appending(
        header::VARY,
        HeaderValue::from_static(
            "origin, access-control-request-method, access-control-request-headers",
        ),
    )
}

/// The whole service: the routes, each with (applied once per route: `Router::layer` wraps
/// every route separately, and each layer there is cloned per request) the route's name for
/// the metrics and the log, and for the API (not /metrics) the body limit, timeout and CORS;
/// then, once around the router, inside out: the panic guard, request metrics, request spans,
/// request ids, the JSON content type on every answer, `nosniff`, and HSTS when configured.
fn http_service(
    state: AppState,
) -> Result<
    impl Service<
        Request,
        Response = Response<impl HttpBody<Data = Bytes, Error: Into<BoxError>> + Send + 'static>,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static,
    BadOrigin,
> {
    let config = state.config.clone();
    let per_api_route = ServiceBuilder::new()
        .layer(LabelLayer)
        // Browsers may call the API (its errors included), never /metrics: no CORS there.
        .layer(vary())
        .layer(cors(&config)?)
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            ApiError::Timeout
        }))
        .timeout(Duration::from_secs(config.request_timeout_secs))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes as usize));
    let trace = TraceLayer::new_for_http()
        // The route is recorded once routed (`LabelLayer`); the URI is left out: its query
        // string may hold an ssid.
        .make_span_with(|req: &Request| {
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("");
            tracing::info_span!(
                "request",
                method = %req.method(),
                route = tracing::field::Empty,
                request_id
            )
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
    let metrics = state.metrics.clone();
    let router = api::routes()
        .layer(per_api_route)
        .merge(api::metrics_routes().layer(LabelLayer))
        .with_state(state);
    Ok(ServiceBuilder::new()
        .option_layer(config.hsts.then(|| {
            SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            )
        }))
        // Browsers must take every answer for what its Content-Type says.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_UTF8),
        ))
        // X-Request-Id: the client's when it sends one, else a new UUID; on every log line of
        // the request (its span) and returned in the answer.
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        // Outside all that may answer an error.
        .layer(TrackLayer(metrics))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::Internal.into_response()
        }))
        .service(router))
}

/// A new request id: a UUID (version 4 layout) made of a per-process random key and a counter,
/// so unique within the process and unlikely across processes, without asking the OS for
/// randomness on every request.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_bytes(&request_uuid())
            .ok()
            .map(RequestId::new)
    }
}

fn request_uuid() -> [u8; 36] {
    static KEYS: LazyLock<(u64, u64)> = LazyLock::new(rand::random);
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let (k1, k2) = *KEYS;
    // splitmix64's finalizer: scrambles the high half.
    let mut hi = n ^ k1;
    hi = (hi ^ (hi >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hi = (hi ^ (hi >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hi ^= hi >> 31;
    // An odd multiplier is a bijection modulo 2^62: the low half differs for each of the first
    // 2^62 ids, so the ids do.
    let lo = (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k2) & (u64::MAX >> 2);
    let hi = (hi & !0xf000) | 0x4000; // version 4
    let lo = lo | 0x8000_0000_0000_0000; // variant 10
    let bytes = (u128::from(hi) << 64 | u128::from(lo)).to_be_bytes();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    out
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
    let http = http_service(state)?;
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
    crate::net::serve(listener, http, limits, connections, shutdown).await;
    background.shutdown().await;
    // What the last requests noted is written before the process ends.
    service.flush_pings_now().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::request_uuid;

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = String::from_utf8(request_uuid().to_vec()).unwrap();
            let groups: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
            assert!(groups[2].starts_with('4'), "version 4: {id}");
            assert!(groups[3].starts_with(['8', '9', 'a', 'b']), "variant: {id}");
            assert!(seen.insert(id.clone()), "repeated: {id}");
        }
    }
}
