//! Connection hygiene, at the socket level against a real server with short timeouts: what
//! sends nothing, half a head (slowly) or nothing more after an answer is closed in time; a
//! kept-alive connection is reused within the idle timeout; an event stream outlives both
//! timeouts; at MAX_CONNECTIONS the next client waits rather than fails; handlers see the
//! peer's address; and with 5,000 idle or half-sent connections open a normal client is
//! answered at once, and the 5,000 are closed.
//!
//! All on SQLite only: connections are handled before any request reaches the database.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::support::net::{self, Limits};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use reqwest::Response;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stream::Stream;
use crate::support::*;

const SECOND: Duration = Duration::from_secs(1);

/// A server (on SQLite) with these timeouts in seconds.
async fn server(
    header: u64,
    idle: u64,
    configure: impl FnOnce(&mut crate::support::Config),
) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |c| {
        c.header_read_timeout_secs = header;
        c.keep_alive_timeout_secs = idle;
        configure(c);
    })
    .await
    .unwrap()
}

/// Reads until the server closes the connection; how long after `since` it did, and what it
/// sent. Fails after `limit`.
async fn until_closed(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
) -> (Duration, Vec<u8>) {
    let mut sent = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let read = tokio::time::timeout_at((since + limit).into(), stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("still open {limit:?} after it began"));
        match read {
            Ok(0) | Err(_) => return (since.elapsed(), sent),
            Ok(n) => sent.extend_from_slice(&buf[..n]),
        }
    }
}

/// `until_closed`, closed within `low`..`high` seconds (`what` it is, for the failure); what
/// the server sent.
async fn closed_within(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
    (low, high): (f64, f64),
    what: &str,
) -> Vec<u8> {
    let (elapsed, sent) = until_closed(stream, since, limit).await;
    assert_between(elapsed, low, high, what);
    sent
}

/// GETs `path` of the server at `base` on a client of its own, giving up after `timeout`.
async fn get_within(base: &str, path: &str, timeout: Duration) -> reqwest::Result<Response> {
    let client = reqwest::Client::new();
    client
        .get(format!("{base}{path}"))
        .timeout(timeout)
        .send()
        .await
}

/// Writes `bytes` on the connection.
async fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
}

/// `closed_within`, having sent nothing.
async fn closed_unanswered(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
    bounds: (f64, f64),
    what: &str,
) {
    let sent = closed_within(stream, since, limit, bounds, what).await;
    assert!(sent.is_empty(), "{what}: {sent:?}");
}

/// A connection to a new server (on SQLite) with these timeouts in seconds.
async fn connected(header: u64, idle: u64) -> (TestApp, TcpStream) {
    let app = server(header, idle, |_| {}).await;
    let stream = TcpStream::connect(app.addr).await.unwrap();
    (app, stream)
}

/// `GET path` on an open connection, kept alive; the answer's status line and body.
async fn get_on(stream: &mut TcpStream, path: &str) -> (String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(5 * SECOND, stream.read_u8())
            .await
            .expect("an answer within 5 s")
            .expect("the connection stays open");
        head.push(byte);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("a content-length");
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    (
        head.lines().next().unwrap().to_owned(),
        String::from_utf8(body).unwrap(),
    )
}

fn assert_between(elapsed: Duration, low: f64, high: f64, what: &str) {
    let secs = elapsed.as_secs_f64();
    assert!(
        (low..=high).contains(&secs),
        "{what}: closed after {secs:.2} s, not within {low}–{high} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let (_app, mut stream) = connected(1, 10).await;
    let what = "a silent connection";
    closed_unanswered(&mut stream, Instant::now(), 5 * SECOND, (0.8, 2.5), what).await;
}

/// Slowloris: a byte of the head every 200 ms does not keep the connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_sent_slowly_is_closed_after_the_header_timeout() {
    let (_app, stream) = connected(1, 10).await;
    let started = Instant::now();
    let (mut read, mut write) = stream.into_split();
    let dribble = tokio::spawn(async move {
        for byte in
            b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut sent = Vec::new();
    let read = tokio::time::timeout(5 * SECOND, read.read_to_end(&mut sent)).await;
    assert!(read.is_ok(), "still open 5 s after the first byte");
    assert_between(started.elapsed(), 0.8, 2.5, "a half-sent head");
    assert!(sent.is_empty(), "answered a half-sent head: {sent:?}");
    dribble.abort();
}

/// The header timeout does not count the wait between requests; the idle timeout does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_reused_then_closed_after_the_idle_timeout() {
    let (_app, mut stream) = connected(1, 3).await;
    let (status, _) = get_on(&mut stream, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    // Longer than the header timeout, shorter than the idle one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _) = get_on(&mut stream, "/healthz").await;
    assert_eq!(status, "HTTP/1.1 200 OK", "the connection was kept");
    let what = "an idle kept-alive connection";
    closed_unanswered(&mut stream, Instant::now(), 6 * SECOND, (2.7, 4.5), what).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_next_head_on_a_kept_alive_connection_is_closed_at_the_header_timeout() {
    let (_app, mut stream) = connected(1, 4).await;
    for _ in 0..3 {
        let (status, _) = get_on(&mut stream, "/healthz").await;
        assert_eq!(status, "HTTP/1.1 200 OK");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&mut stream, b"GET /healthz HTTP/1.1\r\nHo").await;
    // The header timeout from the first byte, not the idle one from the last answer.
    let what = "a half-sent head after answers";
    closed_unanswered(&mut stream, Instant::now(), 6 * SECOND, (0.8, 2.5), what).await;
}

/// HTTP/2 with prior knowledge: the preface and SETTINGS, then no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_without_a_request_is_closed_after_the_header_timeout() {
    let (_app, mut stream) = connected(1, 10).await;
    let started = Instant::now();
    send(&mut stream, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    send(&mut stream, &[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
    let what = "an HTTP/2 connection with no request";
    let sent = closed_within(&mut stream, started, 5 * SECOND, (0.8, 2.5), what).await;
    assert_eq!(
        sent.get(3),
        Some(&4),
        "the server spoke HTTP/2 (its SETTINGS): {sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_outlives_both_timeouts() {
    let app = server(1, 1, |_| {}).await;
    let f = app.fixture("acme", "7").await;
    let mut stream = Stream::open(&app.base, "", Some(&f.token), None).await;
    tokio::time::sleep(3 * SECOND).await;
    app.admin().start_break("acme", "7", "Lunch").await.unwrap();
    let (_, event) = stream
        .next()
        .await
        .expect("the stream is still open after 3 s");
    assert_eq!(event["kind"], "break.start", "{event}");
}

/// At the limit, accepting waits: the next client is answered once a connection closes
/// (here, a silent one at the header timeout), not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_max_connections_the_next_client_waits_for_a_free_one() {
    let app = server(2, 10, |c| c.max_connections = 2).await;
    let _silent = [
        TcpStream::connect(app.addr).await.unwrap(),
        TcpStream::connect(app.addr).await.unwrap(),
    ];
    let started = Instant::now();
    let res = get_within(&app.base, "/healthz", 10 * SECOND)
        .await
        .expect("answered, not refused");
    assert_eq!(res.status(), 200);
    assert_between(
        started.elapsed(),
        1.5,
        4.0,
        "the wait for a free connection",
    );
    let metrics = app.get("/metrics").await.1;
    assert!(
        metrics.contains("agentprofile_connections_limit_waits_total "),
        "{metrics}"
    );
    assert!(
        !metrics.contains("agentprofile_connections_limit_waits_total 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("agentprofile_connections_timed_out_total{timeout=\"header\"} "),
        "{metrics}"
    );
}

/// Handlers may extract `ConnectInfo<SocketAddr>`: the serve loop gives every request its
/// peer's address (a handler of the test's own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_see_the_peers_address() {
    let router = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        header_read_timeout: 5 * SECOND,
        keep_alive_timeout: 5 * SECOND,
        max_connections: 10,
        http2_max_concurrent_streams: 10,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(net::serve(
        listener,
        router,
        limits,
        Default::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (status, body) = get_on(&mut stream, "/peer").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, stream.local_addr().unwrap().to_string());
    drop(stream);
    let _ = stop.send(());
    tokio::time::timeout(5 * SECOND, server)
        .await
        .unwrap()
        .unwrap();
}

/// The check, on the real binary: 5,000 connections that sent nothing or half a head
/// do not slow a normal client, and are all closed at the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_5000_idle_and_half_sent_connections_a_client_is_answered_at_once() {
    const IDLE: usize = 5000;
    const HEADER_SECS: u64 = 5;
    // This process holds the 5,000 client sockets; the server (its child) raises its own.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    if limit < IDLE as u64 + 500 {
        let message =
            format!("the open-file limit is {limit} (ulimit -Hn), too low for {IDLE} connections");
        skip(&message, "Raise it");
        return;
    }
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let header = HEADER_SECS.to_string();
    let server = ServerProcess::start(
        &db,
        &[
            ("HEADER_READ_TIMEOUT_SECS", header.as_str()),
            ("KEEP_ALIVE_TIMEOUT_SECS", header.as_str()),
        ],
    )
    .await;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();

    let opening = Instant::now();
    let mut closed = tokio::task::JoinSet::new();
    for i in 0..IDLE {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let opened = Instant::now();
        if i % 2 == 1 {
            stream
                .write_all(
                    b"POST /api/v2/agentProfile/agentOnBreak HTTP/1.1\r\nHost: test\r\nContent-",
                )
                .await
                .unwrap();
        }
        closed.spawn(async move {
            let (elapsed, sent) =
                until_closed(&mut stream, opened, Duration::from_secs(HEADER_SECS + 10)).await;
            assert!(sent.is_empty(), "answered: {sent:?}");
            elapsed
        });
    }
    let opening = opening.elapsed();
    assert!(
        opening < Duration::from_secs(HEADER_SECS - 2),
        "opening {IDLE} connections took {opening:?}: too slow to measure in the timeout"
    );

    // A normal client, on fresh connections, while the 5,000 are open.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let res = get_within(&server.base, "/readyz", 5 * SECOND)
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.text().await.unwrap();
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < SECOND, "a normal client waited {slowest:?}");
    let metrics = server.get("/metrics").await.1;
    let open = gauge(&metrics, "agentprofile_connections_open");
    assert!(
        open >= IDLE as f64,
        "the server holds {open} connections, not all {IDLE}: {metrics}"
    );

    let mut times = Vec::new();
    while let Some(elapsed) = closed.join_next().await {
        times.push(elapsed.unwrap());
    }
    let first = times.iter().min().unwrap().as_secs_f64();
    let last = times.iter().max().unwrap().as_secs_f64();
    let header = HEADER_SECS as f64;
    assert!(
        first >= header - 0.3 && last <= header + 3.0,
        "closed between {first:.2} s and {last:.2} s after opening, not at the {HEADER_SECS} s timeout"
    );
    let metrics = server.get("/metrics").await.1;
    let timed_out = gauge(
        &metrics,
        "agentprofile_connections_timed_out_total{timeout=\"header\"}",
    );
    assert!(timed_out >= IDLE as f64, "{metrics}");
    eprintln!(
        "{IDLE} connections opened in {opening:?}; slowest normal answer {slowest:?}; closed {first:.2}–{last:.2} s after opening"
    );
    server.kill9().await;
}

/// A sample's value on a metrics page.
fn gauge(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in {page}"))
        .trim()
        .parse()
        .unwrap()
}
