//! Server processes, as they are deployed: two on one PostgreSQL database, each seeing the
//! other's changes through the change feed, and streaming them; a feed connection that
//! drops; one sweeper for two servers; a server killed with SIGKILL in the middle of a ping
//! load.

use std::time::{Duration, Instant};

use crate::support::Operator;
use crate::support::Service;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::stream::Stream;
use crate::support::*;

type Server = ServerProcess;

/// What these tests ask of a server process, besides `Http`'s helpers.
trait Instance {
    /// A /v1 POST with the account's token: the HTTP status.
    async fn post(&self, path: &str, token: &str, body: Value) -> u16;

    /// How long until `route` answers `want`; fails after 5 s.
    async fn until_code(&self, route: &str, body: Value, want: u64) -> Duration;
}

impl Instance for ServerProcess {
    async fn post(&self, path: &str, token: &str, body: Value) -> u16 {
        self.v1(Method::POST, path, token, Some(body)).await.0
    }

    async fn until_code(&self, route: &str, body: Value, want: u64) -> Duration {
        let started = Instant::now();
        loop {
            if self.call_code(route, body.clone()).await == want {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{route} never {want}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// A fresh `backend` database (None where it is skipped) with the account `acme` and these
/// agents, and a service of the test's own on it: what each of these tests starts from.
async fn acme_with_agents(backend: Backend, agents: &[&str]) -> Option<(TestDb, Service)> {
    let db = TestDb::new(backend).await?;
    let service = acme_on(&db, agents).await;
    Some((db, service))
}

/// `acme_with_agents`, and a token of the account's.
async fn acme_with_token(backend: Backend, agents: &[&str]) -> Option<(TestDb, Service, String)> {
    let (db, service) = acme_with_agents(backend, agents).await?;
    let token = Operator { service: &service }
        .create_token("acme")
        .await
        .unwrap();
    Some((db, service, token))
}

/// The furthest a change may take to reach another instance (the bound).
const ELSEWHERE: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_see_each_others_changes() {
    let Some((db, service, token)) = acme_with_token(Backend::Postgres, &["7", "8"]).await else {
        return;
    };
    let admin = Operator { service: &service };
    let (ssid, other_ssid) = (
        admin.create_session("acme", "7").await.unwrap(),
        admin.create_session("acme", "7").await.unwrap(),
    );
    let ssid_8 = admin.create_session("acme", "8").await.unwrap();
    let (a, b) = (Server::start(&db, &[]).await, Server::start(&db, &[]).await);
    // Both have the agents in their views.
    for server in [&a, &b] {
        for s in [&ssid, &other_ssid, &ssid_8] {
            assert_eq!(
                server.call_code("agentOnBreak", json!({"ssid": s})).await,
                1502
            );
        }
    }

    // A break started on A is seen on B.
    let start = json!({"ssid": ssid, "reason": "lunch"});
    assert_eq!(a.call_code("startBreak", start).await, 0);
    let took = b.until_code("agentOnBreak", json!({"ssid": ssid}), 0).await;
    assert!(took < ELSEWHERE, "B saw A's break after {took:?}");

    // A logout on B refuses the ssid on A.
    let logout = json!({"ssid": other_ssid});
    assert_eq!(b.post("/v1/sessions/logout", &token, logout).await, 200);
    let took = a
        .until_code("agentOnBreak", json!({"ssid": other_ssid}), 1000)
        .await;
    assert!(took < ELSEWHERE, "A saw B's logout after {took:?}");
    assert_eq!(a.call_code("agentOnBreak", json!({"ssid": ssid})).await, 0);

    // A disable on A ends B's view of that agent: its ssid is dead, its token answer 1510.
    assert_eq!(a.post("/v1/agents/8/disable", &token, json!({})).await, 200);
    let took = b
        .until_code("agentOnBreak", json!({"ssid": ssid_8}), 1000)
        .await;
    assert!(took < ELSEWHERE, "B saw A's disable after {took:?}");
    let by_token = json!({"userId": "acme", "token": token, "agentId": "8"});
    assert_eq!(b.call_code("agentOnBreak", by_token).await, 1510);
    // And the other way round, a change from neither server (the CLI, say) reaches both.
    admin.end_break("acme", "7").await.unwrap();
    for server in [&a, &b] {
        let took = server
            .until_code("agentOnBreak", json!({"ssid": ssid}), 1502)
            .await;
        assert!(took < ELSEWHERE, "the break's end was seen after {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_dropped_feed_falls_back_to_the_database() {
    let Some((db, service)) = acme_with_agents(Backend::Postgres, &["7"]).await else {
        return;
    };
    let TestDb::Postgres { admin_url, name } = &db else {
        unreachable!("a PostgreSQL database");
    };
    let admin = Operator { service: &service };
    let ssid = admin.create_session("acme", "7").await.unwrap();
    let server = Server::start(&db, &[]).await;
    let on_break = json!({"ssid": ssid});
    assert_eq!(
        server.call_code("agentOnBreak", on_break.clone()).await,
        1502
    );

    // Cut the server's feed connection, and cut it again each time it comes back.
    let (admin_url, name) = (admin_url.clone(), name.clone());
    let cutter = tokio::spawn(async move {
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        loop {
            terminate_feeds(&mut conn, &name).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let started = Instant::now();
    while !server
        .metrics()
        .await
        .contains("agentprofile_live_view_up 0")
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the view stayed up"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // A change the server cannot hear of: it must answer from the database, not from the
    // memory that still said "not on break".
    admin.start_break("acme", "7", "lunch").await.unwrap();
    assert_eq!(server.call_code("agentOnBreak", on_break.clone()).await, 0);

    // The feed comes back: the view starts over from the database, and follows again.
    cutter.abort();
    server.until_live().await;
    assert_eq!(server.call_code("agentOnBreak", on_break.clone()).await, 0);
    admin.end_break("acme", "7").await.unwrap();
    let took = server.until_code("agentOnBreak", on_break, 1502).await;
    assert!(
        took < ELSEWHERE,
        "the end of the break was seen after {took:?}"
    );
}

/// The account's events after `after`, as a server's history answers them.
async fn events_after(server: &Server, token: &str, after: i64) -> Vec<Value> {
    let path = format!("/v1/events?cursor={after}&limit=500");
    let page = server.v1_get(&path, token).await;
    page["items"].as_array().unwrap().clone()
}

/// Cuts `db`'s feed connections (the servers reconnect at once).
async fn cut_feeds(db: &TestDb) {
    let TestDb::Postgres { admin_url, name } = db else {
        unreachable!("a PostgreSQL database");
    };
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    terminate_feeds(&mut conn, name).await;
}

/// Ends every feed connection the servers on database `name` have (through `conn`, an
/// administrator's connection).
async fn terminate_feeds(conn: &mut sqlx::PgConnection, name: &str) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'agentprofile-feed' AND datname = $1",
    )
    .bind(name)
    .execute(conn)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_stream_hears_every_instance_and_resumes_exactly() {
    let Some((db, service, token)) = acme_with_token(Backend::Postgres, &["7", "8"]).await else {
        return;
    };
    let admin = Operator { service: &service };
    let quiet = [("SWEEP_INTERVAL_MS", "0")];
    let (a, b) = (
        Server::start(&db, &quiet).await,
        Server::start(&db, &quiet).await,
    );

    // A break started on A reaches a stream open on B within a second.
    let mut on_b = Stream::open(&b.base, "", Some(&token), None).await;
    let started = Instant::now();
    assert_eq!(
        a.post("/v1/agents/7/break", &token, json!({"reason": "lunch"}))
            .await,
        201
    );
    let (seen, event) = on_b.next().await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "B streamed A's break after {took:?}"
    );
    assert_eq!(event["kind"], "break.start");
    assert_eq!(event["agent"]["state"], "on_break");
    drop(on_b);

    // Missed while disconnected: changes on A, on B and from the CLI.
    admin.end_break("acme", "7").await.unwrap();
    assert_eq!(
        b.post("/v1/agents/8/break", &token, json!({"reason": "lunch"}))
            .await,
        201
    );
    assert_eq!(a.post("/v1/agents/7/disable", &token, json!({})).await, 200);
    let missed = events_after(&a, &token, seen).await;
    assert!(missed.len() >= 3, "{missed:?}");

    // Resumed on B: exactly the missed events, in order, then live ones, none twice.
    let mut resumed = Stream::open(&b.base, "", Some(&token), Some(seen)).await;
    let replayed: Vec<Value> = resumed
        .take(missed.len())
        .await
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    assert_eq!(replayed, missed);
    assert_eq!(a.post("/v1/agents/7/enable", &token, json!({})).await, 200);
    let (last, event) = resumed.next().await.unwrap();
    assert_eq!(event["kind"], "agent.enabled");
    assert!(resumed.quiet_for(Duration::from_millis(300)).await);

    // B's feed drops: its streams end (they could miss changes), and resume without a gap.
    cut_feeds(&db).await;
    assert_eq!(resumed.next().await, None, "the stream ended with the feed");
    assert_eq!(
        a.post("/v1/agents/7/break", &token, json!({"reason": "lunch"}))
            .await,
        201
    );
    b.until_live().await;
    let mut again = Stream::open(&b.base, "", Some(&token), Some(last)).await;
    let (_, event) = again.next().await.unwrap();
    assert_eq!(event["kind"], "break.start");
    assert!(again.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_record_each_presence_crossing_once() {
    let Some((db, service, token)) = acme_with_token(Backend::Postgres, &["7"]).await else {
        return;
    };
    let admin = Operator { service: &service };
    let env = [
        ("SWEEP_INTERVAL_MS", "100"),
        // Online for at least a second (times are whole seconds), whenever the login falls.
        ("PRESENCE_STALE_SECS", "2"),
        ("PRESENCE_OFFLINE_SECS", "3"),
    ];
    let (a, b) = (
        Server::start(&db, &env).await,
        Server::start(&db, &env).await,
    );
    let mut stream = Stream::open(&a.base, "", Some(&token), None).await;
    let ssid = admin.create_session("acme", "7").await.unwrap();
    let read = json!({"ssid": ssid});
    let mut kinds = Vec::new();
    let mut loaded = Vec::new();
    while kinds.last().map(String::as_str) != Some("presence.offline") {
        let (_, event) = stream.next().await.unwrap();
        kinds.push(event["kind"].as_str().unwrap().to_owned());
        if kinds.last().map(String::as_str) == Some("presence.online") {
            // Both views hold the agent (once both have heard the login), for the crossings
            // to come: one instance records them, the other hears them announced.
            tokio::time::sleep(Duration::from_millis(200)).await;
            for server in [&a, &b] {
                assert_eq!(server.call_code("agentOnBreak", read.clone()).await, 1502);
                loaded.push(view_misses(server).await);
            }
        }
    }
    assert!(stream.quiet_for(Duration::from_millis(1500)).await);
    // Presence is not what the views hold: neither forgot the agent.
    for (server, misses) in [&a, &b].into_iter().zip(loaded) {
        assert_eq!(server.call_code("agentOnBreak", read.clone()).await, 1502);
        assert_eq!(
            view_misses(server).await,
            misses,
            "a crossing forgot the agent"
        );
    }
    assert_eq!(
        kinds,
        [
            "login",
            "presence.online",
            "presence.stale",
            "presence.offline"
        ]
    );
    assert_eq!(
        events_after(&b, &token, 0).await.len(),
        4,
        "one event per crossing"
    );
}

/// The server's count of live-view reads that went to the database.
async fn view_misses(server: &Server) -> u64 {
    let page = server.metrics().await;
    let line = page
        .lines()
        .find(|l| l.starts_with("agentprofile_live_view_lookups_total{result=\"miss\"}"));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no view misses counted: {page}"))
}

/// Kill -9 during a ping load: every acknowledged state change is there after a restart,
/// and the heartbeats lost are at most those of the last flush interval.
async fn a_killed_server_loses_at_most_a_flush_of_heartbeats(backend: Backend) {
    let Some((db, service)) = acme_with_agents(backend, &["7"]).await else {
        return;
    };
    let admin = Operator { service: &service };
    let ssid = admin.create_session("acme", "7").await.unwrap();
    let flush = Duration::from_millis(200);
    let env = [("PING_FLUSH_MS", "200")];
    let server = Server::start(&db, &env).await;

    // State changes, acknowledged: a break, a microphone change.
    let start = json!({"ssid": ssid, "reason": "lunch"});
    assert_eq!(server.call_code("startBreak", start).await, 0);
    let ping = |mic: &str, t: i64| json!({"ssid": ssid, "mic_perm": mic, "ping_time": t});
    const T0: i64 = 1_700_000_000;
    assert_eq!(
        server.call_code("setWebPingTime", ping("denied", T0)).await,
        0
    );
    // Then unchanged heartbeats, each acknowledged at a known moment, until the kill.
    let mut acked = Vec::new();
    let load = Instant::now();
    let mut t = T0;
    while load.elapsed() < Duration::from_millis(4500) {
        t += 1;
        assert_eq!(
            server.call_code("setWebPingTime", ping("denied", t)).await,
            0
        );
        acked.push((t, Instant::now()));
    }
    server.kill9().await;
    let killed = Instant::now();

    let read = |sql: &'static str| sql_text(&db, sql);
    let stored: i64 = read("SELECT CAST(client_ping_time AS TEXT) FROM agents")
        .await
        .unwrap()
        .parse()
        .unwrap();
    // Every ping acknowledged more than a flush interval before the kill is in, give or
    // take the flush's own write: up to seconds here, where the suite runs in parallel on
    // two cores and other tests' CREATE and DROP DATABASE make PostgreSQL's fsyncs slow.
    let bound = flush + Duration::from_millis(2000);
    let lost: Vec<_> = acked.iter().filter(|(time, _)| *time > stored).collect();
    if let Some((_, at)) = lost.first() {
        let age = killed.duration_since(*at);
        assert!(
            age <= bound,
            "a ping acknowledged {age:?} before the kill was lost"
        );
    }
    eprintln!(
        "{} of {} acknowledged pings were not flushed at the kill",
        lost.len(),
        acked.len()
    );
    assert_eq!(
        read("SELECT mic_perm FROM agents").await.as_deref(),
        Some("denied")
    );
    let open = "SELECT reason_code FROM breaks WHERE ended_at IS NULL";
    assert_eq!(read(open).await.as_deref(), Some("lunch"));

    // A restarted server starts cold and answers what was acknowledged.
    let server = Server::start(&db, &env).await;
    assert_eq!(
        server
            .call_code("agentOnBreak", json!({"ssid": ssid}))
            .await,
        0
    );
    assert_eq!(
        server
            .call_code("setWebPingTime", ping("denied", t + 1))
            .await,
        0
    );
}

on_both_databases_with_own_config! {
    a_killed_server_loses_at_most_a_flush_of_heartbeats,
}
