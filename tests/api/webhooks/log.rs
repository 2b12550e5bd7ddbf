//! The deliveries log after many batches, their progress written together (one transaction
//! for the batches back at a time) and the log trimmed now and then, not at every write: the
//! newest 100 attempts listed, in order, and the table kept small all the same.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::{insert_events, local_delivery, register};
use crate::support::*;

on_both_databases_with_own_config! {
    the_log_lists_the_newest_attempts_and_is_trimmed,
}

/// Attempts listed, and the most rows an endpoint's log may hold: the listed ones, those
/// recorded between two trims (400), and one batch's (100 at most).
const LISTED: usize = 100;
const MOST_ROWS: i64 = 100 + 400 + 100;

async fn the_log_lists_the_newest_attempts_and_is_trimmed(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, local_delivery).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    // 5,000 events straight into the history, delivered by a replay in batches of 500: the
    // log would hold 1,000 rows untrimmed.
    let n = 5000;
    insert_events(&app, backend, n).await;
    let db = app.db.as_ref().unwrap();
    let receiver = Receiver::start(Behaviour::default()).await;
    let created = register(&app, &f.token, &receiver.url, None).await;
    receiver.trust(created["secret"].as_str().unwrap());
    let id = created["id"].as_i64().unwrap();
    let cursor = created["cursor"].as_i64().unwrap();
    let from = cursor - n + 1;
    let ids: Vec<i64> = (from..=cursor).collect();
    let replay = json!({ "from": from });
    let path = format!("/v1/webhooks/{id}/replay");
    app.v1_ok(Method::POST, &path, &f.token, Some(replay), 200)
        .await;
    receiver
        .until_delivered(&ids, Duration::from_secs(120))
        .await;
    assert_eq!(receiver.delivered(), ids, "in order, none missing");
    // The last batch's progress is written after its last delivery.
    let path = format!("/v1/webhooks/{id}");
    super::eventually(Duration::from_secs(10), "the cursor written", async || {
        app.v1_get(&path, &f.token).await["cursor"] == cursor
    })
    .await;
    let listed = app.v1_get(&format!("{path}/deliveries"), &f.token).await;
    let listed: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .inspect(|a| assert_eq!(a["ok"], true, "{a}"))
        .map(|a| a["eventId"].as_i64().unwrap())
        .collect();
    let newest: Vec<i64> = ids.iter().rev().take(LISTED).copied().collect();
    assert_eq!(listed, newest, "the newest attempts, newest first");
    let rows = sql_text(
        db,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM webhook_deliveries WHERE webhook_pk = {id}"),
    )
    .await
    .unwrap();
    let rows: i64 = rows.parse().unwrap();
    assert!(
        (LISTED as i64..=MOST_ROWS).contains(&rows),
        "the log holds {rows} rows"
    );
}
