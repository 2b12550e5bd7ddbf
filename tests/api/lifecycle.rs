//! The service over time: state that outlives a restart, graceful shutdown, and many
//! requests at once, on both databases.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::support::OperatorError;
use crate::support::ServiceError;
use crate::support::{Fixture, PREFIX, TestApp, code, wrap};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

on_both_databases! {
    breaks_wrap_ups_and_sessions_survive_a_restart,
    shutdown_finishes_the_request_in_flight_and_refuses_new_ones,
    shutdown_does_not_wait_for_idle_keep_alive_connections,
    simultaneous_break_starts_open_exactly_one_break,
    simultaneous_wrap_up_starts_open_exactly_one_wrap_up, simultaneous_pings_all_succeed,
}

/// How many callers race in the concurrency tests.
const RACERS: usize = 50;

// ---------------------------------------------------------------------------------------
// Restart
// ---------------------------------------------------------------------------------------

async fn breaks_wrap_ups_and_sessions_survive_a_restart(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let admin = app.admin();
    admin.start_break("acme", "7", "Lunch").await.unwrap();
    admin
        .start_wrap_up("acme", "7", wrap("call-42", "+15550100", Some(300)))
        .await
        .unwrap();
    let ping = json!({"ssid": f.ssid, "mic_perm": "granted"});
    app.call_ok("setWebPingTime", ping).await;
    let on_break = app.call_ok("agentOnBreak", f.by_ssid()).await;
    let wrap_up = app.call_ok("wrapUp", f.by_ssid()).await;

    let app = app.restart().await;

    let after = app.call_ok("agentOnBreak", f.by_ssid()).await;
    assert_eq!(after["on_break"], 1);
    assert_eq!(after["breakDetail"]["reason"], "Lunch");
    assert_eq!(
        after["breakDetail"]["breakSTime"],
        on_break["breakDetail"]["breakSTime"]
    );
    let (before_s, after_s) = (
        seconds(&on_break["breakDetail"]["currentDuration"]),
        seconds(&after["breakDetail"]["currentDuration"]),
    );
    assert!(
        before_s <= after_s && after_s <= before_s + 5,
        "{before_s} → {after_s}"
    );

    let after = app.call_ok("wrapUp", f.by_ssid()).await;
    for field in ["response", "wrapETime", "callId", "cNumber"] {
        assert_eq!(after[field], wrap_up[field], "{field}");
    }
    assert_eq!(after["callId"], "call-42");
    let left = seconds(&after["currentDuration"]);
    assert!((295..=300).contains(&left), "{left}");

    // The session and the token still authenticate: a ping, and the break through the token.
    let ping = json!({"ssid": f.ssid, "mic_perm": "denied"});
    assert_eq!(app.call_ok("setWebPingTime", ping).await["mic_perm"], 0);
    assert_eq!(app.call_code("checkAgentInWrapUp", f.by_token()).await, 0);

    // And the restored state is the live one: ending it is seen at once.
    app.admin().end_break("acme", "7").await.unwrap();
    app.admin().end_wrap_up("acme", "7").await.unwrap();
    assert_eq!(app.call_code("agentOnBreak", f.by_ssid()).await, 1502);
    assert_eq!(app.call_code("wrapUp", f.by_ssid()).await, 1504);
}

fn seconds(value: &Value) -> i64 {
    value
        .as_i64()
        .unwrap_or_else(|| panic!("not seconds: {value}"))
}

// ---------------------------------------------------------------------------------------
// Graceful shutdown
// ---------------------------------------------------------------------------------------

/// Holds a request in flight deterministically: with `Expect: 100-continue`, hyper sends
/// `100 Continue` only once the handler starts reading the body, and the handler then
/// waits for the body we have not sent yet.
async fn shutdown_finishes_the_request_in_flight_and_refuses_new_ones(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.admin().start_break("acme", "7", "Lunch").await.unwrap();
    let addr = app.addr;
    let body = f.by_ssid().to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {PREFIX}/agentOnBreak HTTP/1.1\r\nHost: {addr}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let interim = read_head(&mut stream).await;
    assert!(interim.starts_with("HTTP/1.1 100 Continue"), "{interim:?}");

    let stopping = tokio::spawn(async move {
        let mut app = app;
        app.shutdown().await;
        app
    });
    wait_until_refused(addr).await;
    assert!(
        !stopping.is_finished(),
        "shutdown finished with a request in flight"
    );

    stream.write_all(body.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut stream).await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["data"]["on_break"], 1, "{body}");

    let app = tokio::time::timeout(Duration::from_secs(5), stopping)
        .await
        .expect("shutdown finishes once the last request is answered")
        .unwrap();
    assert!(TcpStream::connect(app.addr).await.is_err());
}

async fn shutdown_does_not_wait_for_idle_keep_alive_connections(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let mut app = app;
    // A browser-like client: one request, then the connection stays open for the next.
    let body = f.by_ssid().to_string();
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "POST {PREFIX}/agentOnBreak HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let length: usize = header(&head, "content-length").parse().unwrap();
    let mut answer = vec![0; length];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(
        answer,
        br#"{"status":"error","message":"On break is : 0","code":1502}"#
    );

    tokio::time::timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("an idle keep-alive connection does not hold up shutdown");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the idle connection is closed: {read:?}"
    );
    assert!(
        TcpStream::connect(app.addr).await.is_err(),
        "new connections are refused"
    );
}

/// Reads up to the end of a response head (the blank line).
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = tokio::time::timeout(Duration::from_secs(5), stream.read_u8())
            .await
            .expect("the server answers within 5 s")
            .expect("the connection stays open");
        head.push(byte);
    }
    String::from_utf8(head).unwrap()
}

async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes within 5 s")
        .unwrap();
    String::from_utf8(answer).unwrap()
}

fn header<'a>(head: &'a str, name: &str) -> &'a str {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

async fn wait_until_refused(addr: SocketAddr) {
    for _ in 0..250 {
        if TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{addr} still accepts connections 5 s after shutdown began");
}

// ---------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------

/// Runs `op(app, i)` for i in 0..RACERS, all released at the same moment.
async fn race<T, Fut>(app: &Arc<TestApp>, op: impl Fn(Arc<TestApp>, usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let start = Arc::new(Barrier::new(RACERS));
    let mut racers = JoinSet::new();
    for i in 0..RACERS {
        let (start, attempt) = (start.clone(), op(app.clone(), i));
        racers.spawn(async move {
            start.wait().await;
            attempt.await
        });
    }
    racers.join_all().await
}

/// Runs `op` as `race` does: exactly one wins; every other is refused for agent 7 with an error
/// `is_lost` accepts, and so is one more attempt after them. Returns the winner.
async fn one_wins<T, Fut>(
    app: &Arc<TestApp>,
    op: impl Fn(Arc<TestApp>, usize) -> Fut,
    is_lost: fn(&ServiceError) -> bool,
) -> T
where
    T: std::fmt::Debug + Send + 'static,
    Fut: Future<Output = Result<T, OperatorError>> + Send + 'static,
{
    let results = race(app, &op).await;
    let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    assert_eq!(won.len(), 1, "winners: {won:?}");
    let again = op(app.clone(), RACERS).await;
    for err in lost.into_iter().chain([again]).map(|r| r.unwrap_err()) {
        let refused = matches!(&err, OperatorError::Agent(a, e) if a == "7" && is_lost(e));
        assert!(refused, "unexpected refusal: {err:?} ({err})");
    }
    won.into_iter().next().unwrap().unwrap()
}

/// The fixture (`acme`, agent 7) and the server, to share among racers.
async fn racing(app: TestApp) -> (Fixture, Arc<TestApp>) {
    let f = app.fixture("acme", "7").await;
    (f, Arc::new(app))
}

async fn simultaneous_break_starts_open_exactly_one_break(app: TestApp) {
    let (f, app) = racing(app).await;
    let winner = one_wins(
        &app,
        |app, i| async move {
            app.admin()
                .start_break(
                    "acme",
                    "7",
                    ["break", "lunch", "personal", "meeting"][i % 4],
                )
                .await
        },
        |e| matches!(e, ServiceError::AlreadyOnBreak),
    )
    .await;
    let data = app.call_ok("agentOnBreak", f.by_ssid()).await;
    assert_eq!(data["breakDetail"]["reason"], winner.reason.as_str());

    let end = |app: Arc<TestApp>, _| async move { app.admin().end_break("acme", "7").await };
    let ended = one_wins(&app, end, |e| matches!(e, ServiceError::NotOnBreak)).await;
    assert_eq!(ended.reason, winner.reason);
    assert_eq!(app.call_code("agentOnBreak", f.by_ssid()).await, 1502);
    // The next break starts normally.
    app.admin().start_break("acme", "7", "break").await.unwrap();
}

async fn simultaneous_wrap_up_starts_open_exactly_one_wrap_up(app: TestApp) {
    let (f, app) = racing(app).await;
    let winner = one_wins(
        &app,
        |app, i| async move {
            let call = format!("call-{i}");
            app.admin()
                .start_wrap_up("acme", "7", wrap(&call, "+15550100", Some(300)))
                .await
        },
        |e| matches!(e, ServiceError::AlreadyInWrapUp),
    )
    .await;
    let data = app.call_ok("wrapUp", f.by_ssid()).await;
    assert_eq!(data["callId"], winner.call_id.as_str());

    let end = |app: Arc<TestApp>, _| async move { app.admin().end_wrap_up("acme", "7").await };
    let ended = one_wins(&app, end, |e| matches!(e, ServiceError::NotInWrapUp)).await;
    assert_eq!(ended.call_id, winner.call_id);
    assert_eq!(app.call_code("wrapUp", f.by_ssid()).await, 1504);
    app.admin()
        .start_wrap_up("acme", "7", wrap("call-next", "+15550101", Some(300)))
        .await
        .unwrap();
}

/// A browser tab per racer, all pinging through the same session at once (writes to one row).
async fn simultaneous_pings_all_succeed(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let app = Arc::new(app);
    let ssid = Arc::new(f.ssid);

    let answers = race(&app, |app, i| {
        let ssid = ssid.clone();
        async move {
            let mic_perm = if i % 2 == 0 { "granted" } else { "denied" };
            app.post_raw(
                "setWebPingTime",
                json!({"ssid": *ssid, "mic_perm": mic_perm}).to_string(),
            )
            .await
        }
    })
    .await;
    for (status, body) in answers {
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(code(&answer), 0, "{answer}");
    }
    // The session is still good afterwards.
    let c = app.call_code("agentOnBreak", json!({"ssid": *ssid})).await;
    assert_eq!(c, 1502);
}
