//! Builds the router and its layers, and serves it until the shutdown future resolves.

pub use crate::api::AppState;

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, Response, header};
use futures_util::future::Either;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::{Service, ServiceBuilder};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api;
use crate::api::deadline::DeadlineLayer;
use crate::api::edge::EdgeLayer;
use crate::api::track::LabelLayer;
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

/// The whole service: the routes, each named (`LabelLayer`, the one layer applied per route:
/// `Router::layer` wraps every route separately, and each of its layers is cloned per
/// request) for the metrics and the log; around the router, for the API (not /metrics) the
/// body limit, timeout and CORS; around everything, the edge (panic guard, request metrics,
/// request spans and ids, the headers every answer carries).
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
    let edge = EdgeLayer::new(state.metrics.clone(), config.hsts);
    let router = api::routes()
        .merge(api::metrics_routes())
        .layer(LabelLayer)
        .with_state(state);
    // Browsers may call the API (its errors included), never /metrics: no CORS there.
    let api = ServiceBuilder::new()
        .layer(vary())
        .layer(cors(&config)?)
        .layer(DeadlineLayer(Duration::from_secs(
            config.request_timeout_secs,
        )))
        .layer(DefaultBodyLimit::max(config.body_limit_bytes as usize))
        .service(router.clone());
    Ok(ServiceBuilder::new().layer(edge).service(ByPath {
        api,
        metrics: router,
    }))
}

/// `/metrics` straight to the router, everything else through the API's layers.
#[derive(Clone)]
struct ByPath<A, M> {
    api: A,
    metrics: M,
}

impl<A, M> Service<Request> for ByPath<A, M>
where
    A: Service<Request, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    A::Future: Send + 'static,
    M: Service<Request, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    M::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Either<A::Future, M::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Both are always ready (a router; a timeout around one).
        std::task::ready!(self.api.poll_ready(cx))?;
        self.metrics.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.uri().path() == api::METRICS_PATH {
            Either::Right(self.metrics.call(request))
        } else {
            Either::Left(self.api.call(request))
        }
    }
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
    // The database's health probe, the change feed, the heartbeat flusher, the tidying after
    // the writes (every 2 s: group commit's waiting events), the delivery of
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
        async move { service.tidy_writes_every(Duration::from_secs(2)).await }
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
