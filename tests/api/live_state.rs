//! The live view and the heartbeat buffer, seen from one server: reads answered from
//! memory once loaded, the server's own changes seen at once, heartbeats coalesced until
//! the flush (or a graceful stop), and microphone changes written before they are answered.

use serde_json::{Value, json};

use crate::support::Act;
use crate::support::ViewStats;
use crate::support::*;

on_both_databases! {
    reads_are_answered_from_memory_once_loaded,
    the_servers_own_changes_are_seen_at_once,
    a_presence_crossing_leaves_the_agent_loaded,
}

fn stats(app: &TestApp) -> ViewStats {
    app.service.store().feed().view().stats()
}

async fn reads_are_answered_from_memory_once_loaded(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    // The feed goes live soon after the server starts (until then, reads go to the database).
    until_live(&app).await;
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    let loaded = stats(&app);
    assert_eq!((loaded.sessions, loaded.agents), (1, 1));
    for _ in 0..5 {
        expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
        expect(&app, "wrapUp", f.by_ssid(), &NOT_IN_WRAP_UP).await;
    }
    let after = stats(&app);
    assert_eq!(after.misses, loaded.misses, "no more misses once loaded");
    // Each request looks up its session, then its agent's state: 2 hits each.
    assert_eq!(after.hits - loaded.hits, 20);
    // The same counts on the metrics page.
    let (_, _, page) = app.send(reqwest::Method::GET, "/metrics", None, None).await;
    assert!(page.contains("agentprofile_live_view_up 1"), "{page}");
    assert!(page.contains("agentprofile_live_view_sessions 1"), "{page}");
    let hits = format!(
        "agentprofile_live_view_lookups_total{{result=\"hit\"}} {}",
        after.hits
    );
    assert!(page.contains(&hits), "{page}");
}

/// Presence is not what the view holds: a floor going silent together must not send each of
/// its agents' next reads to the database (10,000 reloads at once stalled every read).
async fn a_presence_crossing_leaves_the_agent_loaded(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    until_live(&app).await;
    let presence_events = "SELECT CAST(COUNT(*) AS TEXT) FROM events WHERE kind LIKE 'presence.%'";
    let db = app.db.as_ref().unwrap();
    let now = now_unix();
    app.service.sweep(now).await.unwrap();
    // SQLite reads its own changes back from the file too: the login's, not yet read back,
    // would forget the agent after it is loaded.
    let settle = std::time::Duration::from_millis(400);
    tokio::time::sleep(settle).await;
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    let loaded = stats(&app);
    let before = sql_text(db, presence_events).await;
    // A day later, without a sign of life: the agent is offline.
    assert_eq!(app.service.sweep(now + 86_400).await.unwrap(), 1);
    assert_ne!(sql_text(db, presence_events).await, before);
    // Announced (and, on SQLite, read back from the file) meanwhile.
    tokio::time::sleep(settle).await;
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    let after = stats(&app);
    assert_eq!(
        after.misses, loaded.misses,
        "the crossing sent the read to the database"
    );
    assert_eq!((after.sessions, after.agents), (1, 1));
}

async fn the_servers_own_changes_are_seen_at_once(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let admin = app.admin();
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    // Every kind of change, each read back at once through the loaded view.
    app.call_ok("startBreak", json!({"ssid": f.ssid, "reason": "lunch"}))
        .await;
    assert_eq!(
        app.call_ok("agentOnBreak", f.by_ssid()).await["on_break"],
        1
    );
    app.call_ok("endBreak", f.by_ssid()).await;
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
    admin
        .start_wrap_up("acme", "7", wrap("c1", "555", Some(600)))
        .await
        .unwrap();
    assert_eq!(app.call_ok("wrapUp", f.by_ssid()).await["response"], 1);
    admin.set_suspended("acme", true).await.unwrap();
    expect(&app, "wrapUp", f.by_ssid(), &SUSPENDED).await;
    admin.set_suspended("acme", false).await.unwrap();
    assert_eq!(app.call_ok("wrapUp", f.by_ssid()).await["response"], 1);
    admin.set_agent_disabled("acme", "7", true).await.unwrap();
    expect(&app, "wrapUp", f.by_ssid(), &INVALID_PARAMETERS).await;
    expect(&app, "wrapUp", f.by_token(), &AGENT_DISABLED).await;
    admin.set_agent_disabled("acme", "7", false).await.unwrap();
    expect(&app, "wrapUp", f.by_ssid(), &INVALID_PARAMETERS).await;
    let ssid = admin.create_session("acme", "7").await.unwrap();
    expect(&app, "wrapUp", json!({"ssid": ssid}), &NOT_IN_WRAP_UP).await;
    let account = admin.account("acme").await.unwrap();
    let logged_out = app
        .service
        .logout_session(&account, &ssid, Act::cli())
        .await;
    assert!(logged_out.unwrap());
    expect(&app, "wrapUp", json!({"ssid": ssid}), &INVALID_PARAMETERS).await;
}

// --------------------------------------------------------------------- coalesced heartbeats

/// A server whose flusher runs only at its start and when it stops, once its live view is
/// up: until then every ping is written before it is answered, as it must be.
async fn never_flushing(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, |c| c.ping_flush_ms = 3_600_000).await?;
    until_live(&app).await;
    Some(app)
}

/// Waits for the server's change feed to be live (its view to answer).
async fn until_live(app: &TestApp) {
    let started = std::time::Instant::now();
    while !stats(app).live {
        assert!(started.elapsed().as_secs() < 5, "the feed never went live");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

async fn stored_ping(app: &TestApp) -> (Option<String>, Option<String>, Option<String>) {
    let db = app.db.as_ref().unwrap();
    let read =
        |column: &str| format!("SELECT CAST({column} AS TEXT) FROM agents WHERE agent_id = '7'");
    (
        sql_text(db, &read("client_ping_time")).await,
        sql_text(db, &read("mic_perm")).await,
        sql_text(
            db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM events WHERE kind = 'mic.change'",
        )
        .await,
    )
}

fn ping(f: &Fixture, mic: &str, ping_time: i64) -> Value {
    json!({"ssid": f.ssid, "mic_perm": mic, "ping_time": ping_time})
}

/// A never-flushing server whose agent 7 sent two heartbeats, at 1_700_000_001 (written: the
/// first sets the microphone) and at `second` (waiting in memory); None where it is skipped.
async fn two_heartbeats(backend: Backend, second: i64) -> Option<(TestApp, Fixture)> {
    let app = never_flushing(backend).await?;
    let f = app.fixture("acme", "7").await;
    for t in [1_700_000_001, second] {
        app.call_ok("setWebPingTime", ping(&f, "granted", t)).await;
    }
    Some((app, f))
}

async fn heartbeats_wait_for_the_flush_but_microphone_changes_do_not(backend: Backend) {
    let Some(app) = never_flushing(backend).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let text = |n: i64| Some(n.to_string());
    // The first ping sets the microphone: an event, written before the answer.
    app.call_ok("setWebPingTime", ping(&f, "granted", 1_700_000_001))
        .await;
    assert_eq!(
        stored_ping(&app).await,
        (text(1_700_000_001), Some("granted".into()), text(1))
    );
    // Unchanged: answered, and waiting in memory.
    for t in 1_700_000_002..=1_700_000_005 {
        let data = app.call_ok("setWebPingTime", ping(&f, "granted", t)).await;
        assert_eq!(data["ping_time"], t);
    }
    assert_eq!(app.service.pings().pending(), 1);
    assert_eq!(stored_ping(&app).await.0, text(1_700_000_001));
    // One flush writes the latest.
    app.service.flush_pings_now().await;
    assert_eq!(app.service.pings().pending(), 0);
    assert_eq!(stored_ping(&app).await.0, text(1_700_000_005));
    // A change of permission does not wait.
    app.call_ok("setWebPingTime", ping(&f, "denied", 1_700_000_006))
        .await;
    assert_eq!(
        stored_ping(&app).await,
        (text(1_700_000_006), Some("denied".into()), text(2))
    );
    // The idle timer counts from the waiting pings too: the session stays live.
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
}

async fn a_graceful_stop_writes_the_waiting_heartbeats(backend: Backend) {
    let Some((app, f)) = two_heartbeats(backend, 1_700_000_009).await else {
        return;
    };
    assert_eq!(stored_ping(&app).await.0.as_deref(), Some("1700000001"));
    let app = app.restart().await;
    assert_eq!(stored_ping(&app).await.0.as_deref(), Some("1700000009"));
    // The restarted server starts cold, and correct.
    expect(&app, "agentOnBreak", f.by_ssid(), &NOT_ON_BREAK).await;
}

async fn a_flush_never_revives_an_ended_session(backend: Backend) {
    let Some((app, f)) = two_heartbeats(backend, 1_700_000_002).await else {
        return;
    };
    let db = app.db.as_ref().unwrap();
    let last_seen = "SELECT CAST(last_seen_at AS TEXT) FROM agent_sessions";
    let before = sql_text(db, last_seen).await;
    app.admin()
        .set_agent_disabled("acme", "7", true)
        .await
        .unwrap();
    app.service.flush_pings_now().await;
    // Written to neither the disabled agent nor its ended session.
    assert_eq!(stored_ping(&app).await.0.as_deref(), Some("1700000001"));
    assert_eq!(sql_text(db, last_seen).await, before);
    expect(&app, "agentOnBreak", f.by_ssid(), &INVALID_PARAMETERS).await;
}

on_both_databases_with_own_config! {
    heartbeats_wait_for_the_flush_but_microphone_changes_do_not,
    a_graceful_stop_writes_the_waiting_heartbeats,
    a_flush_never_revives_an_ended_session,
}
