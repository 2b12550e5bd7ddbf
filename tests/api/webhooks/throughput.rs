//! Throughput, run by hand (README "Webhooks"): events delivered per second to one fast local
//! receiver, on each database.
//!
//! `BENCH_EVENTS=20000 cargo test --release --test api -- --ignored webhooks::throughput --nocapture`

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{insert_events, local_delivery, register};
use crate::support::*;

on_both_databases_with_own_config! {
    events_delivered_per_second_to_one_endpoint,
}

async fn events_delivered_per_second_to_one_endpoint(backend: Backend) {
    if std::env::var_os("BENCH_EVENTS").is_none() {
        eprintln!("skipped: set BENCH_EVENTS to run the webhook throughput bench");
        return;
    }
    let n: i64 = std::env::var("BENCH_EVENTS").unwrap().parse().unwrap();
    let Some(app) = TestApp::spawn_with(backend, local_delivery).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    insert_events(&app, backend, n).await;
    let receiver = Receiver::start(Behaviour::default()).await;
    let created = register(&app, &f.token, &receiver.url, None).await;
    receiver.trust(created["secret"].as_str().unwrap());
    let id = created["id"].as_i64().unwrap();
    let cursor = created["cursor"].as_i64().unwrap();
    let from = cursor - n + 1;
    let ids: Vec<i64> = (from..=cursor).collect();
    let started = Instant::now();
    let path = format!("/v1/webhooks/{id}/replay");
    app.v1_ok(
        Method::POST,
        &path,
        &f.token,
        Some(json!({ "from": from })),
        200,
    )
    .await;
    receiver
        .until_delivered(&ids, Duration::from_secs(600))
        .await;
    let took = started.elapsed();
    assert_eq!(receiver.unsigned(), 0);
    println!(
        "{backend:?}: {n} events delivered to one endpoint in {:.2} s: {:.0} events/s",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
}
