//! setWebPingTime, the agent's browser heartbeat, on both databases: the `mic_perm` and
//! `ping_time` values it accepts, what it answers and records, the body forms it reads, and
//! how a ping keeps the agent's session alive.

use std::time::{Duration, Instant};

use crate::support::now_unix;
use crate::support::{
    BAD_PING_TIME, Backend, INVALID_DATA_TYPE, INVALID_PARAMETERS, NOT_ON_BREAK, PREFIX,
    SSID_NOT_VALID_FOR_PING, TestApp, agent, expect, missing, sql_row,
};
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::time::sleep;

on_both_databases! {
    every_accepted_mic_perm_is_answered_as_a_flag_and_a_state,
    other_mic_perm_values_are_1001_and_blank_ones_missing,
    ping_time_is_read_as_seconds_or_milliseconds, rejected_ping_time_is_1506_and_records_nothing,
    pings_come_by_ssid_or_by_token_for_the_named_agent,
    form_bodies_and_query_strings_are_read_and_the_body_wins,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_pings_keep_the_session_alive() {
    pings_keep_the_session_alive(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_pings_keep_the_session_alive() {
    pings_keep_the_session_alive(Backend::Postgres).await;
}

const ROUTE: &str = "setWebPingTime";

/// A client's clock: 2024-11-20T09:35:11Z in Unix seconds.
const CLIENT_SECONDS: i64 = 1_732_095_311;
const FORM: &str = "application/x-www-form-urlencoded";

// ---------------------------------------------------------------------------------------------
// Helpers

/// POSTs `body` to setWebPingTime, with a query string and a Content-Type when given;
/// returns the parsed answer, which must be HTTP 200.
async fn send(app: &TestApp, query: &str, content_type: Option<&str>, body: &str) -> Value {
    let mut url = format!("{}{PREFIX}/{ROUTE}", app.base);
    if !query.is_empty() {
        url = format!("{url}?{query}");
    }
    let mut request = app.client.post(url).body(body.to_owned());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{query} {body}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Sends a ping that must succeed and returns its `data`, after checking that `server_time`
/// is the server's clock while the request was in flight.
async fn ping_with(app: &TestApp, query: &str, content_type: Option<&str>, body: &str) -> Value {
    let before = now_unix();
    let answer = send(app, query, content_type, body).await;
    let after = now_unix();
    assert_eq!(answer["status"], "success", "{query} {body}: {answer}");
    let server_time = answer["data"]["server_time"].as_i64().unwrap();
    assert!((before..=after).contains(&server_time), "{answer}");
    answer["data"].clone()
}

/// A JSON ping that must succeed; returns its `data`.
async fn ping(app: &TestApp, body: Value) -> Value {
    ping_with(app, "", None, &body.to_string()).await
}

/// What the database holds of an agent's last ping, and when its latest session was last seen.
#[derive(Debug, PartialEq)]
struct Stored {
    server_time: Option<i64>,
    client_time: Option<i64>,
    mic_perm: Option<String>,
    session_seen_at: Option<i64>,
}

/// Reads the agent's row behind the server's back (agent ids are unique in these tests).
async fn stored(app: &TestApp, agent_id: &str) -> Stored {
    // What the server wrote once it flushed its waiting heartbeats.
    app.service.flush_pings_now().await;
    const SELECT: &str = "SELECT g.last_ping_at, g.client_ping_time, g.mic_perm,
                (SELECT MAX(s.last_seen_at) FROM agent_sessions s WHERE s.agent_pk = g.id)
         FROM agents g WHERE g.agent_id = $1";
    let db = app.db.as_ref().unwrap();
    let row: (Option<i64>, Option<i64>, Option<String>, Option<i64>) =
        sql_row(db, SELECT, Some(agent_id)).await.unwrap();
    Stored {
        server_time: row.0,
        client_time: row.1,
        mic_perm: row.2,
        session_seen_at: row.3,
    }
}

// ---------------------------------------------------------------------------------------------
// mic_perm

async fn every_accepted_mic_perm_is_answered_as_a_flag_and_a_state(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let accepted = [
        (json!(1), 1, "granted"),
        (json!(0), 0, "denied"),
        (json!(true), 1, "granted"),
        (json!(false), 0, "denied"),
        (json!("1"), 1, "granted"),
        (json!("0"), 0, "denied"),
        (json!("granted"), 1, "granted"),
        (json!("denied"), 0, "denied"),
        (json!("prompt"), 0, "prompt"),
        (json!("GRANTED"), 1, "granted"),
        (json!("Denied"), 0, "denied"),
        (json!("PROMPT"), 0, "prompt"),
    ];
    for (mic_perm, flag, state) in accepted {
        let data = ping(&app, json!({"ssid": f.ssid, "mic_perm": mic_perm})).await;
        let now = data["server_time"].as_i64().unwrap();
        // Without a ping_time of its own, the client is answered the server's time.
        let expected = json!({
            "agent_id": "7", "user_id": "acme", "ping_time": now, "server_time": now,
            "mic_perm": flag, "mic_state": state,
        });
        assert_eq!(data, expected, "mic_perm {mic_perm}");
        let recorded = Stored {
            server_time: Some(now),
            client_time: None,
            mic_perm: Some(state.to_owned()),
            session_seen_at: Some(now),
        };
        assert_eq!(stored(&app, "7").await, recorded, "mic_perm {mic_perm}");
    }
}

async fn other_mic_perm_values_are_1001_and_blank_ones_missing(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    ping(&app, json!({"ssid": f.ssid, "mic_perm": "granted"})).await;
    let before = stored(&app, "7").await;
    for rejected in [
        json!(2),
        json!(-1),
        json!(1.5),
        json!("yes"),
        json!([]),
        json!({}),
    ] {
        let by_ssid = json!({"ssid": f.ssid, "mic_perm": rejected});
        expect(&app, ROUTE, by_ssid, &INVALID_DATA_TYPE).await;
        let by_token =
            json!({"userId": "acme", "token": f.token, "agentId": "7", "mic_perm": rejected});
        expect(&app, ROUTE, by_token, &INVALID_DATA_TYPE).await;
    }
    // null and blank count as absent.
    for blank in [json!(null), json!(""), json!("  ")] {
        let body = json!({"ssid": f.ssid, "mic_perm": blank});
        expect(&app, ROUTE, body, &missing("mic_perm")).await;
    }
    assert_eq!(stored(&app, "7").await, before);
}

// ---------------------------------------------------------------------------------------------
// ping_time

async fn ping_time_is_read_as_seconds_or_milliseconds(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let read_as = [
        (json!(CLIENT_SECONDS), CLIENT_SECONDS),
        // Date.now(): milliseconds.
        (json!(CLIENT_SECONDS * 1000 + 123), CLIENT_SECONDS),
        (json!(CLIENT_SECONDS.to_string()), CLIENT_SECONDS),
        (
            json!((CLIENT_SECONDS * 1000 + 999).to_string()),
            CLIENT_SECONDS,
        ),
        // Date.now() / 1000, and fractional milliseconds: truncated.
        (json!(1_732_095_311.75), CLIENT_SECONDS),
        (json!(1_732_095_311_123.9), CLIENT_SECONDS),
        // Up to 1e11 is seconds (the year 5138); above it, milliseconds (1973 onwards).
        (json!(99_999_999_999_i64), 99_999_999_999),
        (json!(100_000_000_001_i64), 100_000_000),
    ];
    for (ping_time, seconds) in read_as {
        let body = json!({"ssid": f.ssid, "mic_perm": "granted", "ping_time": ping_time});
        let data = ping(&app, body).await;
        assert_eq!(data["ping_time"], seconds, "ping_time {ping_time}");
        let recorded = stored(&app, "7").await;
        assert_eq!(recorded.client_time, Some(seconds), "ping_time {ping_time}");
        assert_eq!(recorded.server_time, data["server_time"].as_i64());
    }
    // Absent, null or blank: the server's time is answered, and no client time is kept.
    for body in [
        json!({"ssid": f.ssid, "mic_perm": 1}),
        json!({"ssid": f.ssid, "mic_perm": 1, "ping_time": null}),
        json!({"ssid": f.ssid, "mic_perm": 1, "ping_time": ""}),
    ] {
        let data = ping(&app, body.clone()).await;
        assert_eq!(data["ping_time"], data["server_time"], "{body}");
        assert_eq!(stored(&app, "7").await.client_time, None, "{body}");
    }
}

async fn rejected_ping_time_is_1506_and_records_nothing(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let first = json!({"ssid": f.ssid, "mic_perm": "granted", "ping_time": CLIENT_SECONDS});
    let now = ping(&app, first).await["server_time"].as_i64();
    let before = stored(&app, "7").await;
    let recorded = Stored {
        server_time: now,
        client_time: Some(CLIENT_SECONDS),
        mic_perm: Some("granted".to_owned()),
        session_seen_at: now,
    };
    assert_eq!(before, recorded);

    // A second later, so that anything recorded would carry a new server time.
    sleep(Duration::from_millis(1100)).await;
    let rejected = [
        json!("soon"),
        json!(true),
        json!(-5),
        json!({}),
        json!([]),
        json!("1e400"),
    ];
    for ping_time in rejected {
        let by_ssid = json!({"ssid": f.ssid, "mic_perm": "denied", "ping_time": ping_time});
        expect(&app, ROUTE, by_ssid, &BAD_PING_TIME).await;
        let by_token = json!({
            "userId": "acme", "token": f.token, "agentId": 7, "mic_perm": "denied", "ping_time": ping_time,
        });
        expect(&app, ROUTE, by_token, &BAD_PING_TIME).await;
    }
    assert_eq!(stored(&app, "7").await, before);
}

// ---------------------------------------------------------------------------------------------
// Who pings, and how the request is written

async fn pings_come_by_ssid_or_by_token_for_the_named_agent(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.admin().create_agent("acme", agent("8")).await.unwrap();

    let body = json!({"ssid": f.ssid, "mic_perm": 1, "ping_time": CLIENT_SECONDS});
    let data = ping(&app, body).await;
    assert_eq!(
        (&data["agent_id"], &data["user_id"]),
        (&json!("7"), &json!("acme"))
    );

    let by_token = json!({
        "userId": "acme", "token": f.token, "agentId": 8, "mic_perm": "prompt", "ping_time": CLIENT_SECONDS + 60,
    });
    let data = ping(&app, by_token).await;
    assert_eq!(
        (&data["agent_id"], &data["user_id"]),
        (&json!("8"), &json!("acme"))
    );
    assert_eq!(
        (&data["mic_perm"], &data["mic_state"]),
        (&json!(0), &json!("prompt"))
    );
    assert_eq!(data["ping_time"], CLIENT_SECONDS + 60);

    // Each ping was recorded on its own agent only.
    let seven = stored(&app, "7").await;
    assert_eq!(
        (seven.client_time, seven.mic_perm.as_deref()),
        (Some(CLIENT_SECONDS), Some("granted"))
    );
    let eight = stored(&app, "8").await;
    assert_eq!(
        (eight.client_time, eight.mic_perm.as_deref()),
        (Some(CLIENT_SECONDS + 60), Some("prompt"))
    );
    assert_eq!(eight.server_time, data["server_time"].as_i64());
}

async fn form_bodies_and_query_strings_are_read_and_the_body_wins(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let ssid = &f.ssid;

    // The reference page's curl: a urlencoded form.
    let form = format!("mic_perm=granted&ssid={ssid}&ping_time={CLIENT_SECONDS}");
    let data = ping_with(&app, "", Some(FORM), &form).await;
    assert_eq!(
        (&data["mic_state"], &data["ping_time"]),
        (&json!("granted"), &json!(CLIENT_SECONDS))
    );
    assert_eq!(data["agent_id"], "7");

    // The same with no Content-Type at all, and with token credentials.
    let form = format!("userId=acme&token={}&agentId=7&mic_perm=0", f.token);
    let data = ping_with(&app, "", None, &form).await;
    assert_eq!(
        (&data["mic_perm"], &data["mic_state"]),
        (&json!(0), &json!("denied"))
    );

    // Only a query string, no body.
    let data = ping_with(&app, &format!("ssid={ssid}&mic_perm=prompt"), None, "").await;
    assert_eq!(data["mic_state"], "prompt");

    // A JSON body (sent as text/plain, like OkHttp) wins over the query: the query's unknown
    // ssid and its mic_perm lose.
    let body = json!({"ssid": ssid, "mic_perm": "granted"}).to_string();
    let data = ping_with(
        &app,
        "ssid=not-a-session&mic_perm=denied",
        Some("text/plain"),
        &body,
    )
    .await;
    assert_eq!(data["mic_state"], "granted");

    // A form body wins too, while query fields the body lacks still count.
    let query = format!("mic_perm=denied&ping_time={CLIENT_SECONDS}");
    let data = ping_with(
        &app,
        &query,
        Some(FORM),
        &format!("mic_perm=granted&ssid={ssid}"),
    )
    .await;
    assert_eq!(
        (&data["mic_state"], &data["ping_time"]),
        (&json!("granted"), &json!(CLIENT_SECONDS))
    );
    let recorded = stored(&app, "7").await;
    assert_eq!(
        (recorded.client_time, recorded.mic_perm.as_deref()),
        (Some(CLIENT_SECONDS), Some("granted"))
    );
}

// ---------------------------------------------------------------------------------------------
// Session liveness

/// Two sessions of one agent under a 2 s idle timeout: the pinged one outlives 3 s, the other
/// expires.
async fn pings_keep_the_session_alive(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.session_idle_timeout_secs = 2).await else {
        return;
    };
    let pinged = app.fixture("acme", "7").await.ssid;
    let idle = app.admin().create_session("acme", "7").await.unwrap();
    let logged_in = Instant::now();

    // Times are whole Unix seconds, so a 2 s timeout surely spares a session for 1 s only:
    // ping every 0.8 s.
    for tick in 1..=4 {
        sleep((Duration::from_millis(800) * tick).saturating_sub(logged_in.elapsed())).await;
        ping(&app, json!({"ssid": pinged, "mic_perm": "granted"})).await;
    }
    sleep(Duration::from_millis(3300).saturating_sub(logged_in.elapsed())).await;

    expect(&app, "agentOnBreak", json!({"ssid": pinged}), &NOT_ON_BREAK).await;
    expect(
        &app,
        "agentOnBreak",
        json!({"ssid": idle}),
        &INVALID_PARAMETERS,
    )
    .await;
    let late_ping = json!({"ssid": idle, "mic_perm": "granted"});
    expect(&app, ROUTE, late_ping, &SSID_NOT_VALID_FOR_PING).await;
}

/// A flush given up mid-write (as the flusher is aborted at a stop) gives its heartbeats back
/// to the buffer, and the stop's last flush writes them: a graceful stop loses none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_flush_given_up_mid_write_keeps_its_heartbeats() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |c| c.ping_flush_ms = 1000).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let db = app.db.as_ref().unwrap();
    let mut holder = sqlx::PgConnection::connect(&db.url()).await.unwrap();
    let mut attempts = 0;
    for client_time in CLIENT_SECONDS.. {
        // Each ping's client time its own, so that each flush has something to change.
        let ping = json!({"ssid": f.ssid, "mic_perm": "granted", "ping_time": client_time});
        let answer = app.call(ROUTE, ping).await;
        assert_eq!(answer["status"], "success", "{answer}");
        // The first ping changes the microphone, and is written at once.
        if app.service.pings().pending() == 0 {
            continue;
        }
        // The flush's UPDATE waits behind the holder until it is given up.
        sqlx::raw_sql("BEGIN; SELECT 1 FROM agents WHERE agent_id = '7' FOR UPDATE")
            .execute(&mut holder)
            .await
            .unwrap();
        let flush = app.service.flush_pings(now_unix());
        let given_up = tokio::time::timeout(Duration::from_millis(300), flush).await;
        sqlx::raw_sql("ROLLBACK")
            .execute(&mut holder)
            .await
            .unwrap();
        if given_up.is_err() {
            break;
        }
        // The server's own flusher took it first: again.
        attempts += 1;
        assert!(attempts < 5, "no flush could be given up mid-write");
    }
    assert_eq!(
        app.service.pings().pending(),
        1,
        "the heartbeat the given-up flush had taken is lost"
    );
    let written = stored(&app, "7").await;
    assert!(written.server_time.is_some_and(|t| t >= now_unix() - 5));
    assert_eq!(app.service.pings().pending(), 0);
}
