//! How writes commit: an account's event ids follow commit order under many concurrent
//! writers (a reader that pages on after the last id it saw never misses one that commits
//! later with a smaller id), and text of any shape is recorded exactly as sent (on
//! PostgreSQL the events travel with the COMMIT as SQL literals).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

on_both_databases! {
    a_reader_after_its_last_id_misses_no_event_of_concurrent_writers,
    text_of_any_shape_is_recorded_exactly,
}

/// Writers on many agents of one account at once; a reader polls `/v1/events` after the
/// last id it has seen, the way a resumed stream or a webhook cursor does. Were an id
/// drawn before a smaller one committed, the reader would pass it and never see it.
async fn a_reader_after_its_last_id_misses_no_event_of_concurrent_writers(app: TestApp) {
    let f = app.fixture("acme", "a0").await;
    let agents: Vec<String> = (1..=8).map(|i| format!("w{i}")).collect();
    for agent in &agents {
        app.create_agent(&f.token, json!({ "agentId": agent }))
            .await;
    }
    let before = app.events(&f.token, "/v1/events?limit=500").await;
    let start = before.last().map_or(0, |e| e["id"].as_i64().unwrap());
    let done = AtomicBool::new(false);
    let reader = async {
        let (mut last, mut seen) = (start, Vec::new());
        loop {
            // Read the flag first: a last poll after the writers finished sees everything.
            let finished = done.load(Ordering::SeqCst);
            let path = format!("/v1/events?limit=500&cursor={last}");
            let page = app.v1_get(&path, &f.token).await;
            let items = page["items"].as_array().unwrap();
            for item in items {
                let id = item["id"].as_i64().unwrap();
                assert!(id > last, "event {id} came after {last}");
                last = id;
                seen.push(id);
            }
            if finished && items.is_empty() {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
    };
    let (app_ref, token) = (&app, f.token.as_str());
    let writers = async {
        let writers = agents.iter().map(|agent| async move {
            let path = format!("/v1/agents/{agent}/break");
            for _ in 0..12 {
                let lunch = json!({"reason": "lunch"});
                app_ref
                    .v1_ok(Method::POST, &path, token, Some(lunch), 201)
                    .await;
                app_ref.v1_ok(Method::DELETE, &path, token, None, 200).await;
            }
        });
        futures_util::future::join_all(writers).await;
        done.store(true, Ordering::SeqCst);
    };
    let (seen, ()) = tokio::join!(reader, writers);
    let mut all = Vec::new();
    let mut last = start;
    loop {
        let path = format!("/v1/events?limit=500&cursor={last}");
        let page = app.v1_get(&path, &f.token).await;
        let items = page["items"].as_array().unwrap().clone();
        let Some(newest) = items.last() else { break };
        last = newest["id"].as_i64().unwrap();
        all.extend(items.iter().map(|e| e["id"].as_i64().unwrap()));
    }
    assert_eq!(all.len(), agents.len() * 24);
    let missed: BTreeSet<i64> = all
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missed.is_empty(),
        "the reader passed {} events that committed after a larger id: {missed:?}",
        missed.len()
    );
    assert_eq!(seen, all);
}

/// Quotes, backslashes, dollar quotes, SQL, escapes and any Unicode: recorded as sent.
async fn text_of_any_shape_is_recorded_exactly(app: TestApp) {
    let f = app.fixture("acme", "a0").await;
    let hostile = [
        ("q1", "O'Brien's ''lunch'''"),
        ("q2", r"back\slash \' \\ \n \0 \x41 E'\''"),
        ("q3", "$$ $q$ $a$b$ $1 $$; COMMIT; --"),
        ("q4", "'); DROP TABLE events; SELECT ('"),
        (
            "q5",
            "ünïcödé 漢字 😀 \u{202e}rtl \t tab\nnewline \u{1} \u{7f}",
        ),
    ];
    for (code, label) in hostile {
        app.create_reason(&f.token, json!({"code": code, "label": label}))
            .await;
        let path = format!("/v1/agents/{}/break", f.agent_id);
        app.v1_ok(
            Method::POST,
            &path,
            &f.token,
            Some(json!({"reason": code})),
            201,
        )
        .await;
        app.v1_ok(Method::DELETE, &path, &f.token, None, 200).await;
    }
    let events = app.events(&f.token, "/v1/events?limit=500").await;
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "break.start")
        .collect();
    assert_eq!(starts.len(), hostile.len());
    for ((code, label), event) in hostile.iter().zip(starts) {
        assert_eq!(event["details"]["reasonCode"], *code);
        assert_eq!(event["details"]["reason"], *label, "{event}");
    }
}

/// PostgreSQL's group commit: a write commits its events into `pending_events` and waits for
/// its account's sequencing run. Events whose server died in between (the write was never
/// answered) are numbered by any instance still running, within seconds (its tidying), not
/// left waiting for a restart or the account's next write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_events_left_waiting_by_a_dead_server_are_numbered_within_seconds() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    app.fixture("acme", "7").await;
    let db = app.db.as_ref().unwrap();
    // What such a write leaves behind.
    sql_exec(
        db,
        "INSERT INTO pending_events (account_pk, agent_pk, kind, actor, at, details, instance)
         SELECT account_pk, id, 'agent.enabled', 'cli', 1, '{}', 'a-dead-server'
         FROM agents WHERE agent_id = '7'",
    )
    .await;
    let numbered =
        "SELECT CAST(COUNT(*) AS TEXT) FROM events WHERE at = 1 AND kind = 'agent.enabled'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while sql_text(db, numbered).await.as_deref() != Some("1") {
        assert!(
            std::time::Instant::now() < deadline,
            "the waiting event was not numbered within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let waiting = sql_text(db, "SELECT CAST(COUNT(*) AS TEXT) FROM pending_events").await;
    assert_eq!(waiting.as_deref(), Some("0"));
}
