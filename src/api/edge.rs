//! The edge of every request, once around the router, as ONE layer: what tower-http's
//! catch-panic, trace, request-id and set-header layers and our metrics did as seven nested
//! services, each wrapping the response future of the next (every answer paid for each
//! level: a future moved, a header map searched). Every answer, 404s, timeouts and panics
//! included, gets here:
//! - its `X-Request-Id`: the client's, else a new UUID; on the request's log span too;
//! - `X-Content-Type-Options: nosniff`, `Content-Type` JSON unless it has one, HSTS when asked;
//! - its count and latency under its route ([`super::track`]: the route slot is opened here and
//!   filled once routed), and an `answered` line in the log;
//! - a panic in a handler answers 1032 (`Internal server error`), logged, not a dropped connection.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Response, header};
use axum::response::IntoResponse;
use futures_util::FutureExt;
use tower::{Layer, Service};
use tracing::Instrument;

use super::envelope::{AnswerCode, JSON_UTF8};
use super::error::ApiError;
use super::track::ROUTE;
use crate::metrics::{Metrics, UNMATCHED_ROUTE};

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000; includeSubDomains");

#[derive(Clone)]
pub struct EdgeLayer(Arc<Shared>);

struct Shared {
    metrics: Arc<Metrics>,
    hsts: bool,
}

impl EdgeLayer {
    /// `hsts`: every answer also carries `Strict-Transport-Security` (behind TLS).
    pub fn new(metrics: Arc<Metrics>, hsts: bool) -> Self {
        EdgeLayer(Arc::new(Shared { metrics, hsts }))
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            shared: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let start = Instant::now();
        let method = request.method().clone();
        let id = match request.headers().get(&X_REQUEST_ID) {
            Some(given) => given.clone(),
            None => {
                let new = HeaderValue::from_bytes(&request_uuid())
                    .unwrap_or(HeaderValue::from_static("-"));
                request
                    .headers_mut()
                    .insert(X_REQUEST_ID.clone(), new.clone());
                new
            }
        };
        // The route is recorded once routed (`track::Label`); the URI is left out: its query
        // string may hold an ssid.
        let span = tracing::info_span!(
            "request",
            method = %method,
            route = tracing::field::Empty,
            request_id = id.to_str().unwrap_or("")
        );
        let shared = self.shared.clone();
        // Called here, ready (`poll_ready`), not cloned into the future. The routing, in the
        // route slot's scope, happens now or when the future is first polled. The router's
        // future (kilobytes: every layer's state) is boxed where it is made, so that it is
        // not copied again as it moves into this one.
        let (called, route) = ROUTE.sync_scope(Cell::new(UNMATCHED_ROUTE), || {
            let _entered = span.enter();
            let called =
                std::panic::catch_unwind(AssertUnwindSafe(|| Box::pin(self.inner.call(request))));
            (called, ROUTE.with(Cell::get))
        });
        Box::pin(ROUTE.scope(Cell::new(route), async move {
            let answered = match called {
                Ok(future) => {
                    AssertUnwindSafe(future)
                        .catch_unwind()
                        .instrument(span.clone())
                        .await
                }
                Err(panic) => Err(panic),
            };
            let mut response = match answered {
                Ok(Ok(response)) => response,
                Err(_) => {
                    span.in_scope(|| tracing::error!("handler panicked"));
                    ApiError::Internal.into_response()
                }
            };
            shared.finish(&mut response, id);
            let latency = start.elapsed();
            let status = response.status().as_u16();
            let code = response.extensions().get::<AnswerCode>().map(|c| c.0);
            span.in_scope(|| {
                tracing::info!(
                    status,
                    code,
                    latency_ms = latency.as_millis() as u64,
                    "answered"
                );
                if response.status().is_server_error() {
                    tracing::error!(
                        status,
                        latency_ms = latency.as_millis() as u64,
                        "response failed"
                    );
                }
            });
            let route = ROUTE.with(Cell::get);
            let code = code.unwrap_or(0);
            shared.metrics.record(route, &method, status, code, latency);
            Ok(response)
        }))
    }
}

impl Shared {
    /// The headers every answer carries.
    fn finish(&self, response: &mut Response<Body>, id: HeaderValue) {
        let headers = response.headers_mut();
        if !headers.contains_key(&X_REQUEST_ID) {
            headers.insert(X_REQUEST_ID.clone(), id);
        }
        // Browsers must take every answer for what its Content-Type says.
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if !headers.contains_key(header::CONTENT_TYPE) {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
        }
        if self.hsts {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
    }
}

/// A new request id: a UUID (version 4 layout) made of a per-process random key and a counter,
/// so unique within the process and unlikely across processes, without asking the OS for
/// randomness on every request.
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

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::registry::Registry;

    /// The page's text, for what a test counted.
    fn page(metrics: &Metrics) -> String {
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    async fn answer_of<S>(edge: &mut Edge<S>, request: Request) -> Response<Body>
    where
        S: Service<Request, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        let Ok(()) = std::future::poll_fn(|cx| edge.poll_ready(cx)).await;
        let Ok(response) = edge.call(request).await;
        response
    }

    #[tokio::test]
    async fn a_panic_is_answered_1032_with_the_headers_and_counted() {
        let metrics = Arc::new(Metrics::new());
        let layer = EdgeLayer::new(metrics.clone(), true);
        // A panic while called, and one while its future runs.
        let mut in_call = layer.layer(tower::service_fn(
            |_: Request| -> std::future::Ready<Result<Response<Body>, Infallible>> {
                panic!("in call")
            },
        ));
        let mut in_future = layer.layer(tower::service_fn(|_: Request| async {
            if true {
                panic!("in the future");
            }
            Ok::<_, Infallible>(Response::new(Body::empty()))
        }));
        for response in [
            answer_of(&mut in_call, Request::new(Body::empty())).await,
            answer_of(&mut in_future, Request::new(Body::empty())).await,
        ] {
            // Errors answer HTTP 200 (the contract); the envelope says what happened.
            assert_eq!(response.status(), 200);
            assert_eq!(
                response.extensions().get::<AnswerCode>(),
                Some(&AnswerCode(1032))
            );
            let headers = response.headers();
            assert_eq!(headers["x-content-type-options"], "nosniff");
            assert_eq!(headers["content-type"], JSON_UTF8);
            assert_eq!(headers["strict-transport-security"], HSTS);
            assert_eq!(headers["x-request-id"].len(), 36);
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            assert_eq!(
                &body[..],
                br#"{"status":"error","message":"Internal server error","code":1032}"#
            );
        }
        let page = page(&metrics);
        assert!(
            page.contains(
                r#"http_requests_total{route="unmatched",method="GET",status="200",code="1032"} 2"#
            ),
            "{page}"
        );
    }

    #[tokio::test]
    async fn the_clients_request_id_is_kept_and_a_set_content_type_too() {
        let layer = EdgeLayer::new(Arc::new(Metrics::new()), false);
        let mut edge = layer.layer(tower::service_fn(|_: Request| async {
            let mut response = Response::new(Body::from("x"));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            Ok::<_, Infallible>(response)
        }));
        let request = Request::builder()
            .header("x-request-id", "req-7")
            .body(Body::empty())
            .unwrap();
        let response = answer_of(&mut edge, request).await;
        assert_eq!(response.headers()["x-request-id"], "req-7");
        assert_eq!(response.headers()["content-type"], "text/html");
        assert!(!response.headers().contains_key("strict-transport-security"));
    }

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
