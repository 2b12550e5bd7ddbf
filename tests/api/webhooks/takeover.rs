//! Two server processes on one PostgreSQL database: one delivers webhooks (it holds the
//! lease); killed with SIGKILL mid-stream, the other takes over and no event is missing at
//! the receiver (some may arrive twice, with the same `webhook-id`).

use std::time::Duration;

use crate::support::*;

use super::{event_ids, eventually, register};

const ENV: &[(&str, &str)] = &[
    ("WEBHOOK_ALLOW_HTTP", "true"),
    ("WEBHOOK_ALLOW_PRIVATE", "true"),
    ("WEBHOOK_TIMEOUT_SECS", "1"),
    ("WEBHOOK_RETRY_BASE_MS", "20"),
];

/// Whether this server's metrics show it delivering.
async fn delivers(server: &ServerProcess) -> bool {
    server
        .metrics()
        .await
        .contains("agentprofile_webhook_deliveries_total{")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_other_instance_takes_over_a_killed_deliverer() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let service = acme_on(&db, &["7"]).await;
    let admin = Operator { service: &service };
    let token = admin.create_token("acme").await.unwrap();
    let mut servers = vec![
        ServerProcess::start(&db, ENV).await,
        ServerProcess::start(&db, ENV).await,
    ];
    let receiver = Receiver::start(Behaviour::default()).await;
    let created = register(&servers[0], &token, &receiver.url, None).await;
    receiver.trust(created["secret"].as_str().unwrap());
    // Events keep coming, written by a third party (the test's own service).
    let writer = tokio::spawn(async move {
        let admin = Operator { service: &service };
        for _ in 0..150 {
            admin.start_break("acme", "7", "break").await.unwrap();
            admin.end_break("acme", "7").await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    eventually(Duration::from_secs(20), "deliveries begin", async || {
        receiver.delivered().len() >= 40
    })
    .await;
    let mut deliverer = None;
    for (i, server) in servers.iter().enumerate() {
        if delivers(server).await {
            deliverer = Some(i);
        }
    }
    let deliverer = deliverer.expect("one server delivers");
    let before = receiver.delivered().len();
    servers.remove(deliverer).kill9().await;
    writer.await.unwrap();
    let survivor = &servers[0];
    let after = created["cursor"].as_i64().unwrap();
    let ids: Vec<i64> = event_ids(survivor, &token, None)
        .await
        .into_iter()
        .filter(|id| *id > after)
        .collect();
    assert_eq!(ids.len(), 300);
    assert!(
        before < ids.len(),
        "killed mid-stream ({before} of {})",
        ids.len()
    );
    receiver
        .until_delivered(&ids, Duration::from_secs(30))
        .await;
    assert!(delivers(survivor).await, "the survivor took over");
    assert_eq!(receiver.unsigned(), 0);
    assert_eq!(receiver.delivered(), ids, "in order, none missing");
}
