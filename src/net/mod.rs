//! The HTTP server loop: hyper's connection builder with this service's connection limits
//! (`axum::serve` has none of these knobs), each request given its peer's address as
//! axum's `ConnectInfo<SocketAddr>`.
//!
//! What closes a connection, besides the client:
//! - the header timeout (`HEADER_READ_TIMEOUT_SECS`): a request head must arrive in full
//!   within it, from the connection's opening (so one that sends nothing or half a header is
//!   closed), and on a kept-alive connection from the first byte of the next request;
//! - the idle timeout (`KEEP_ALIVE_TIMEOUT_SECS`): after an answer, the wait for the next
//!   request, HTTP/1.1 and HTTP/2 alike. A request in progress, an open event stream among
//!   them, is never idle: requests are bounded by `REQUEST_TIMEOUT_SECS` instead.
//!
//! A watchdog per connection enforces both, not hyper: hyper's `header_read_timeout` (HTTP/1
//! only) restarts when an answer ends, so it cannot tell an idle keep-alive connection from
//! a half-sent head and would cut both at one value; hyper-util's protocol detection (`auto`)
//! waits for the first bytes with no timeout at all; and HTTP/2 has no idle timeout (its
//! keep-alive pings only find dead peers). The watchdog drops the connection, which closes
//! the socket: nothing is in progress on it then.
//!
//! `MAX_CONNECTIONS` connections are served at once, each holding a semaphore permit. At the
//! limit the server stops accepting (rather than accept-and-close): the next clients wait in
//! the kernel's listen backlog and are served as soon as a connection closes, which idle and
//! half-sent ones do within the timeouts above, instead of failing outright.

mod limits;
mod watchdog;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::serve::Listener;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

use crate::metrics::ConnectionMetrics;
pub use limits::{Limits, raise_open_file_limit};
use watchdog::{Activity, Watched};

/// HTTP/1: most bytes buffered for one connection (a request head must fit). hyper's default
/// is about 400 KiB; 10,000 connections at that would be 4 GB.
const HTTP1_MAX_BUF_BYTES: usize = 64 * 1024;
/// HTTP/2: largest header block a client may send (hyper's default, stated).
const HTTP2_MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// HTTP/2: streams a client opened and reset before we read them (rapid reset, CVE-2023-44487),
/// and streams our own errors reset (CVE-2025-8671), beyond which the connection is closed.
const HTTP2_MAX_PENDING_RESETS: usize = 20;
const HTTP2_MAX_LOCAL_RESETS: usize = 1024;
/// HTTP/2: a PING this often on a quiet connection; unanswered this long, it is closed.
const HTTP2_PING_INTERVAL: Duration = Duration::from_secs(20);
const HTTP2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// What is served: the whole HTTP service (router and layers), cloned for each request.
pub trait HttpService<B>:
    Service<Request<Body>, Response = Response<B>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}

/// Serves `router` on `listener` until `shutdown` resolves; then refuses new connections, lets
/// the open ones finish their requests (idle ones are closed at once), and returns when the
/// last has closed.
pub async fn serve<S, B>(
    mut listener: TcpListener,
    router: S,
    limits: Limits,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) where
    S: HttpService<B>,
    B: HttpBody<Data = Bytes, Error: Into<BoxError>> + Send + 'static,
{
    let builder = Arc::new(builder(&limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics.limit_wait();
                tracing::debug!("MAX_CONNECTIONS open: accepting waits for one to close");
                tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.expect("never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        // axum's accept: retries connection errors, and backs off on others (out of files).
        let (stream, peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        // Answers are small and written at once: no waiting to fill a segment.
        let _ = stream.set_nodelay(true);
        metrics.accepted();
        let slot = Slot::new(permit, metrics.clone());
        tokio::spawn(connection(
            builder.clone(),
            stream,
            peer,
            router.clone(),
            limits,
            stopping.clone(),
            slot,
        ));
    }
    // Refused from now on, rather than queued in a backlog nobody reads.
    drop(listener);
    let _ = stop.send(());
    // Each connection holds a permit until it closes: all back means all closed.
    let _ = slots.acquire_many(limits.max_connections).await;
}

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // The watchdog times the head (see the module's comment).
        .header_read_timeout(None)
        .keep_alive(true)
        .max_buf_size(HTTP1_MAX_BUF_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(HTTP2_MAX_HEADER_LIST_BYTES)
        .max_pending_accept_reset_streams(HTTP2_MAX_PENDING_RESETS)
        .max_local_error_reset_streams(HTTP2_MAX_LOCAL_RESETS)
        .keep_alive_interval(HTTP2_PING_INTERVAL)
        .keep_alive_timeout(HTTP2_PING_TIMEOUT);
    builder
}

/// A connection's place under `MAX_CONNECTIONS`, and its count in `connections_open`.
struct Slot {
    _permit: OwnedSemaphorePermit,
    metrics: ConnectionMetrics,
}

impl Slot {
    fn new(permit: OwnedSemaphorePermit, metrics: ConnectionMetrics) -> Slot {
        metrics.opened();
        Slot {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.closed();
    }
}

/// Serves one connection until it ends, the watchdog closes it, or the server stops.
async fn connection<S, B>(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    peer: SocketAddr,
    router: S,
    limits: Limits,
    mut stopping: watch::Receiver<()>,
    slot: Slot,
) where
    S: HttpService<B>,
    B: HttpBody<Data = Bytes, Error: Into<BoxError>> + Send + 'static,
{
    let activity = Arc::new(Activity::new(limits));
    let io = TokioIo::new(Watched {
        io: stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |mut request: Request<Incoming>| {
            let in_progress = activity.begin(request.version());
            // What `into_make_service_with_connect_info` gives handlers.
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let Ok(response) = router.oneshot(request.map(Body::new)).await;
                // The request is in progress until hyper drops the answer's body: when it is
                // sent, or the client left. A stream's body lives as long as the stream.
                Ok::<_, Infallible>(response.map(|body| {
                    body.map_frame(move |frame| {
                        let _ = &in_progress;
                        frame
                    })
                }))
            }
        }
    });
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut stop_sent = false;
    loop {
        let deadline = activity.arm();
        let expired = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(err) = ended {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                break;
            }
            _ = stopping.changed(), if !stop_sent => {
                stop_sent = true;
                // Idle connections close now; others after their request.
                conn.as_mut().graceful_shutdown();
            }
            () = activity.changed.notified() => {}
            () = expired => {
                // Read again: a request may have begun since.
                if let Some((at, why)) = activity.arm() {
                    if at <= Instant::now() {
                        tracing::debug!(%peer, timeout = why.timeout, "closing the connection");
                        slot.metrics.timed_out(why);
                        break;
                    }
                }
            }
        }
    }
}
