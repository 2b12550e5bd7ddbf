//! Deliveries to receivers on 127.0.0.1 that verify every signature with the spec's
//! algorithm: at least once, first deliveries in id order, a flaky endpoint (30 % failures,
//! some requests hanging past the timeout) holding up no healthy one; rotation; disabling
//! after the last attempt; replay, filters and the test send.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{breaks, event_ids, eventually, local_delivery, register};
use crate::support::*;

on_both_databases_with_own_config! {
    every_event_reaches_a_flaky_endpoint_in_order_and_a_healthy_one_is_not_held_up,
    both_signatures_are_sent_during_a_rotation,
    an_endpoint_that_keeps_failing_is_disabled_with_an_event,
    replays_filters_and_the_test_send,
    an_endpoint_that_hears_nothing_moves_its_cursor_all_the_same,
    a_name_that_resolves_to_a_private_address_later_reaches_nothing,
}

async fn app_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
    TestApp::spawn_with(backend, |c| {
        local_delivery(c);
        configure(c);
    })
    .await
}

/// A receiver trusting the endpoint it registers, and the endpoint's data.
async fn endpoint(
    app: &TestApp,
    token: &str,
    behaviour: Behaviour,
    events: Option<serde_json::Value>,
) -> (Receiver, serde_json::Value) {
    let receiver = Receiver::start(behaviour).await;
    let created = register(app, token, &receiver.url, events).await;
    receiver.trust(created["secret"].as_str().unwrap());
    (receiver, created)
}

/// Each event's first arrival (accepted or not) comes after those of every smaller id.
fn first_arrivals_in_order(receiver: &Receiver) -> Vec<i64> {
    let mut seen = std::collections::BTreeSet::new();
    receiver
        .arrivals()
        .iter()
        .filter_map(|a| a.id.parse::<i64>().ok())
        .filter(|id| seen.insert(*id))
        .collect()
}

async fn every_event_reaches_a_flaky_endpoint_in_order_and_a_healthy_one_is_not_held_up(
    backend: Backend,
) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let flaky = Behaviour {
        fail: 0.3,
        hang: 0.1,
        hang_for: Duration::from_millis(1500),
    };
    let (slow, created) = endpoint(&app, &f.token, flaky, None).await;
    let (healthy, _) = endpoint(&app, &f.token, Behaviour::default(), None).await;
    let after = created["cursor"].as_i64().unwrap();
    breaks(&app, 40).await;
    let made = Instant::now();
    let ids: Vec<i64> = event_ids(&app, &f.token, None)
        .await
        .into_iter()
        .filter(|id| *id > after)
        .collect();
    assert_eq!(ids.len(), 80);
    let healthy_done = healthy.until_delivered(&ids, Duration::from_secs(20)).await;
    let slow_done = slow.until_delivered(&ids, Duration::from_secs(180)).await;
    for receiver in [&healthy, &slow] {
        assert_eq!(receiver.unsigned(), 0, "every request is signed");
        assert_eq!(receiver.delivered(), ids, "first deliveries in id order");
        assert_eq!(
            first_arrivals_in_order(receiver),
            ids,
            "first tries in id order"
        );
    }
    let failed = slow.arrivals().iter().filter(|a| !a.accepted).count();
    assert!(
        failed >= 10,
        "the flaky endpoint failed only {failed} times"
    );
    assert!(
        healthy_done.duration_since(made) < Duration::from_secs(5),
        "the healthy endpoint took {:?}",
        healthy_done.duration_since(made)
    );
    assert!(
        slow_done > healthy_done,
        "the flaky endpoint cannot have been as fast"
    );
    // The attempts are visible, and the counters count them.
    let id = created["id"].as_i64().unwrap();
    let attempts = app
        .v1_get(&format!("/v1/webhooks/{id}/deliveries"), &f.token)
        .await;
    let attempts = attempts.as_array().unwrap();
    assert!(
        attempts
            .iter()
            .any(|a| a["ok"] == false && a["nextTryMs"].is_i64())
    );
    assert!(
        attempts
            .iter()
            .any(|a| a["ok"] == true && a["status"] == 204)
    );
    let (_, metrics) = app.get("/metrics").await;
    let line =
        format!("agentprofile_webhook_deliveries_total{{webhook=\"{id}\",result=\"failure\"}}");
    assert!(metrics.contains(&line), "{metrics}");
}

async fn both_signatures_are_sent_during_a_rotation(backend: Backend) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let (receiver, created) = endpoint(&app, &f.token, Behaviour::default(), None).await;
    let id = created["id"].as_i64().unwrap();
    breaks(&app, 1).await;
    eventually(Duration::from_secs(10), "two deliveries", async || {
        receiver.delivered().len() == 2
    })
    .await;
    let first = &receiver.arrivals()[0];
    assert_eq!(first.signatures.len(), 1);
    assert_eq!(first.verified_by, [0]);
    assert_eq!(first.body["type"], "break.start");
    assert_eq!(first.body["kind"], "break.start");
    assert_eq!(first.body["agentId"], "7");
    assert_eq!(first.body["id"].to_string(), first.id);

    let rotated = app
        .v1_ok(
            Method::POST,
            &format!("/v1/webhooks/{id}/rotate"),
            &f.token,
            None,
            200,
        )
        .await;
    receiver.trust(rotated["secret"].as_str().unwrap());
    breaks(&app, 1).await;
    eventually(Duration::from_secs(10), "four deliveries", async || {
        receiver.delivered().len() == 4
    })
    .await;
    let last = receiver.arrivals().pop().unwrap();
    assert_eq!(last.signatures.len(), 2, "{:?}", last.signatures);
    assert_eq!(
        last.verified_by,
        [1, 0],
        "the new secret's first, then the old one's"
    );
    assert_eq!(receiver.unsigned(), 0);
}

async fn an_endpoint_that_keeps_failing_is_disabled_with_an_event(backend: Backend) {
    let Some(app) = app_with(backend, |c| c.webhook_max_attempts = 3).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let failing = Behaviour {
        fail: 1.0,
        ..Behaviour::default()
    };
    let (down, created) = endpoint(&app, &f.token, failing, None).await;
    let (watcher, _) = endpoint(
        &app,
        &f.token,
        Behaviour::default(),
        Some(json!(["webhook.*"])),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/v1/webhooks/{id}");
    app.admin().start_break("acme", "7", "break").await.unwrap();
    eventually(Duration::from_secs(10), "disabled", async || {
        app.v1_get(&path, &f.token).await["enabled"] == false
    })
    .await;
    assert_eq!(down.arrivals().len(), 3, "three attempts, then no more");
    let attempts = app.v1_get(&format!("{path}/deliveries"), &f.token).await;
    let attempts = attempts.as_array().unwrap();
    let numbers: Vec<i64> = attempts
        .iter()
        .map(|a| a["attempt"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1], "{attempts:?}");
    assert!(
        attempts
            .iter()
            .all(|a| a["status"] == 500 && a["ok"] == false)
    );
    assert!(attempts[0]["nextTryMs"].is_null() && attempts[1]["nextTryMs"].is_i64());
    let events = app.events(&f.token, "/v1/events").await;
    let disabled = events.iter().find(|e| e["kind"] == "webhook.disabled");
    let disabled = disabled.expect("a webhook.disabled event");
    assert_eq!(disabled["details"]["webhook"], id);
    assert_eq!(disabled["details"]["attempts"], 3);
    assert!(disabled["agentId"].is_null());
    // Heard by the other endpoint, which filters on it.
    eventually(
        Duration::from_secs(10),
        "the watcher hears it",
        async || watcher.delivered() == [disabled["id"].as_i64().unwrap()],
    )
    .await;
    // Enabled again, it starts from where it stopped.
    down.set_behaviour(Behaviour::default());
    app.v1_ok(
        Method::PATCH,
        &path,
        &f.token,
        Some(json!({"enabled": true})),
        200,
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "delivered after enabling",
        async || !down.delivered().is_empty(),
    )
    .await;
}

async fn replays_filters_and_the_test_send(backend: Backend) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let (all, created) = endpoint(&app, &f.token, Behaviour::default(), None).await;
    let (starts, _) = endpoint(
        &app,
        &f.token,
        Behaviour::default(),
        Some(json!(["break.start"])),
    )
    .await;
    breaks(&app, 3).await;
    let after = created["cursor"].as_i64().unwrap();
    let ids: Vec<i64> = event_ids(&app, &f.token, None)
        .await
        .into_iter()
        .filter(|id| *id > after)
        .collect();
    let start_ids = event_ids(&app, &f.token, Some(&["break.start"])).await;
    all.until_delivered(&ids, Duration::from_secs(10)).await;
    starts
        .until_delivered(&start_ids, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(starts.delivered(), start_ids, "only what the filter hears");

    let id = created["id"].as_i64().unwrap();
    let replayed = app
        .v1_ok(
            Method::POST,
            &format!("/v1/webhooks/{id}/replay"),
            &f.token,
            Some(json!({"from": ids[2]})),
            200,
        )
        .await;
    assert_eq!(replayed["cursor"], ids[2] - 1);
    eventually(Duration::from_secs(10), "the replay", async || {
        all.arrivals().len() == ids.len() * 2 - 2
    })
    .await;
    let again: Vec<String> = all.arrivals()[ids.len()..]
        .iter()
        .map(|a| a.id.clone())
        .collect();
    let want: Vec<String> = ids[2..].iter().map(i64::to_string).collect();
    assert_eq!(again, want, "the same webhook-ids, in order");

    let tested = app
        .v1_ok(
            Method::POST,
            &format!("/v1/webhooks/{id}/test"),
            &f.token,
            None,
            200,
        )
        .await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(tested["status"], 204);
    let test = all.arrivals().pop().unwrap();
    assert_eq!(test.body["type"], "webhook.test");
    assert!(test.accepted && test.id.starts_with("test_"));
}

/// Events no endpoint hears are not even read, but the cursor moves past them all the same
/// (written lazily: the retention must not keep them for it).
async fn an_endpoint_that_hears_nothing_moves_its_cursor_all_the_same(backend: Backend) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let (receiver, created) = endpoint(
        &app,
        &f.token,
        Behaviour::default(),
        Some(json!(["tag.create"])),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    breaks(&app, 3).await;
    let newest = *event_ids(&app, &f.token, None).await.last().unwrap();
    assert!(newest > created["cursor"].as_i64().unwrap());
    let path = format!("/v1/webhooks/{id}");
    eventually(Duration::from_secs(20), "the cursor moved on", async || {
        app.v1_get(&path, &f.token).await["cursor"] == newest
    })
    .await;
    assert!(receiver.arrivals().is_empty(), "nothing was sent");
    let (_, metrics) = app.get("/metrics").await;
    let lag = format!("agentprofile_webhook_lag_events{{webhook=\"{id}\"}} 0");
    assert!(metrics.contains(&lag), "{metrics}");
}

/// DNS rebinding: a name checked at registration that later resolves to a private address (a
/// URL changed behind the API's back stands for it) is refused at connection time, and so is
/// an address written literally.
async fn a_name_that_resolves_to_a_private_address_later_reaches_nothing(backend: Backend) {
    let Some(app) = app_with(backend, |c| c.webhook_allow_private = false).await else {
        return;
    };
    let f = app.fixture("acme", "7").await;
    let receiver = Receiver::start(Behaviour::default()).await;
    let port = receiver.url.split(':').nth(2).unwrap().to_owned();
    for host in ["localhost", "127.0.0.1"] {
        let created = register(&app, &f.token, "https://hooks.example.invalid/x", None).await;
        receiver.trust(created["secret"].as_str().unwrap());
        let id = created["id"].as_i64().unwrap();
        let rebound = format!("http://{host}:{port}");
        sql_exec(
            app.db.as_ref().unwrap(),
            &format!("UPDATE webhooks SET url = '{rebound}' WHERE id = {id}"),
        )
        .await;
        app.admin().start_break("acme", "7", "break").await.unwrap();
        let path = format!("/v1/webhooks/{id}/deliveries");
        eventually(Duration::from_secs(10), "a refused attempt", async || {
            let attempts = app.v1_get(&path, &f.token).await;
            attempts[0]["error"] == "a private address"
        })
        .await;
        app.admin().end_break("acme", "7").await.unwrap();
        app.v1_ok(
            Method::DELETE,
            &format!("/v1/webhooks/{id}"),
            &f.token,
            None,
            200,
        )
        .await;
    }
    assert!(
        receiver.arrivals().is_empty(),
        "nothing reached the receiver"
    );
}
