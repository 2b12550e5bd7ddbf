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

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, Version};
use axum::serve::Listener;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::Config;

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

/// The connection settings, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: u32,
    pub http2_max_concurrent_streams: u32,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs),
            keep_alive_timeout: Duration::from_secs(config.keep_alive_timeout_secs),
            max_connections: config.max_connections,
            http2_max_concurrent_streams: config.http2_max_concurrent_streams,
        }
    }
}

/// Raises this process's open-file soft limit to its hard limit (each connection is a file),
/// and logs it; warns when that is still too few for `max_connections`.
pub fn raise_open_file_limit(max_connections: u32) {
    let before = rlimit::Resource::NOFILE.get().map_or(0, |(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            // Room beyond the connections for the database pool, the log and the listener.
            let needed = u64::from(max_connections) + 100;
            if limit < needed {
                tracing::warn!(
                    open_files = limit,
                    max_connections,
                    "the open-file limit is below MAX_CONNECTIONS: accepting fails before the limit (raise `ulimit -Hn`)"
                );
            } else {
                tracing::info!(open_files = limit, was = before, "open-file limit");
            }
        }
        Err(err) => tracing::warn!(error = %err, "cannot raise the open-file limit"),
    }
}

/// Why the watchdog closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TimeoutLabels {
    timeout: &'static str,
}

const HEADER: TimeoutLabels = TimeoutLabels { timeout: "header" };
const IDLE: TimeoutLabels = TimeoutLabels { timeout: "idle" };

/// Client connection counts, served at `/metrics`. Cloning shares the values.
#[derive(Debug, Clone, Default)]
pub struct ConnectionMetrics {
    open: Gauge,
    accepted: Counter,
    timed_out: Family<TimeoutLabels, Counter>,
    limit_waits: Counter,
}

impl ConnectionMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "connections_open",
            "Client connections open",
            self.open.clone(),
        );
        registry.register(
            "connections_accepted",
            "Client connections accepted",
            self.accepted.clone(),
        );
        registry.register(
            "connections_timed_out",
            "Client connections closed by the header timeout (nothing or half a request head sent in time) or the idle timeout (no next request)",
            self.timed_out.clone(),
        );
        registry.register(
            "connections_limit_waits",
            "Times accepting paused because MAX_CONNECTIONS connections were open",
            self.limit_waits.clone(),
        );
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then refuses new connections, lets
/// the open ones finish their requests (idle ones are closed at once), and returns when the
/// last has closed.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    limits: Limits,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(builder(&limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                metrics.limit_waits.inc();
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
        metrics.accepted.inc();
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
        metrics.open.inc();
        Slot {
            _permit: permit,
            metrics,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.metrics.open.dec();
    }
}

/// Serves one connection until it ends, the watchdog closes it, or the server stops.
async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stopping: watch::Receiver<()>,
    slot: Slot,
) {
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
                let Ok(response) = router.oneshot(request).await;
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
                        slot.metrics.timed_out.get_or_create(&why).inc();
                        break;
                    }
                }
            }
        }
    }
}

/// What one connection is doing, for its watchdog: told by the socket (bytes arrive), the
/// service (a request begins) and the answers' bodies (a request ends).
struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when the deadline came sooner than the one it waits for.
    changed: Notify,
    limits: Limits,
}

struct Phase {
    opened: Instant,
    /// Requests begun and not yet answered in full.
    in_progress: usize,
    /// Whether any request has begun: until one has, the header timeout runs from `opened`.
    served: bool,
    /// When the last answer ended.
    idle_since: Instant,
    /// The first byte after `idle_since`: the next request's head is on its way.
    head_since: Option<Instant>,
    http2: bool,
    /// The deadline the watchdog waits for (None: it waits for a wake). Only a sooner one
    /// wakes it: at a later one it reads the deadline again, so a request that began
    /// meanwhile is never cut, and a kept-alive connection costs one wake per request.
    armed: Option<Instant>,
}

impl Activity {
    fn new(limits: Limits) -> Activity {
        let now = Instant::now();
        Activity {
            phase: Mutex::new(Phase {
                opened: now,
                in_progress: 0,
                served: false,
                idle_since: now,
                head_since: None,
                http2: false,
                armed: None,
            }),
            changed: Notify::new(),
            limits,
        }
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        // The lock guards plain values; a panic elsewhere cannot leave them half-written.
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the connection is to be closed, and why, noted as what the watchdog waits for.
    fn arm(&self) -> Option<(Instant, TimeoutLabels)> {
        let mut phase = self.phase();
        let deadline = phase.deadline(&self.limits);
        phase.armed = deadline.map(|(at, _)| at);
        deadline
    }

    /// Wakes the watchdog if the deadline is now sooner than the one it waits for.
    fn moved(&self, phase: std::sync::MutexGuard<'_, Phase>) {
        let sooner = match (phase.deadline(&self.limits), phase.armed) {
            (Some((at, _)), Some(armed)) => at < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        drop(phase);
        if sooner {
            self.changed.notify_one();
        }
    }

    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        if phase.in_progress == 0 && phase.head_since.is_none() {
            phase.head_since = Some(Instant::now());
            self.moved(phase);
        }
    }

    fn begin(self: &Arc<Self>, version: Version) -> InProgress {
        let mut phase = self.phase();
        phase.in_progress += 1;
        phase.served = true;
        phase.head_since = None;
        phase.http2 |= version == Version::HTTP_2;
        // No deadline now: never sooner, so the watchdog is not woken.
        drop(phase);
        InProgress(self.clone())
    }
}

impl Phase {
    /// When the connection is to be closed, and why; None while a request is in progress.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, TimeoutLabels)> {
        if self.in_progress > 0 {
            None
        } else if !self.served {
            Some((self.opened + limits.header_read_timeout, HEADER))
        } else {
            match self.head_since {
                // HTTP/2 sends frames (PING, SETTINGS, WINDOW_UPDATE) between requests:
                // bytes do not mean a request is on its way.
                Some(at) if !self.http2 => Some((at + limits.header_read_timeout, HEADER)),
                _ => Some((self.idle_since + limits.keep_alive_timeout, IDLE)),
            }
        }
    }
}

/// A request begun and not yet answered in full.
struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        phase.in_progress -= 1;
        if phase.in_progress == 0 {
            phase.idle_since = Instant::now();
            phase.head_since = None;
        }
        self.0.moved(phase);
    }
}

/// The socket, noting when bytes arrive.
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
