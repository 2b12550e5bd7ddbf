//! The deployment's one deliverer (it holds the webhooks lease: a PostgreSQL advisory lock,
//! or on SQLite the process): a task per enabled endpoint, so a slow or failing endpoint
//! holds up none other. Each task reads its account's events after its cursor in batches,
//! posts those its filters hear in id order on one kept-alive connection, and moves the
//! cursor past what was delivered only after: a crash in between sends again (with the same
//! `webhook-id`), never skips. A failure is retried with exponential backoff and jitter; after
//! WEBHOOK_MAX_ATTEMPTS the endpoint is disabled, with a `webhook.disabled` event.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::{AbortHandle, JoinSet};

use super::super::Service;
use super::client;
use crate::domain::{
    DeliveryAttempt, Event, EventDetails, EventQuery, WebhookTarget, hears, now_unix,
    retry_delay_ms,
};
use crate::store::Progress;

/// Events read per query.
const BATCH: i64 = 500;
/// How often the endpoints are listed again (new, enabled), and the lease checked; and the
/// longest an idle endpoint waits before it looks for events (should an announcement be lost).
const POLL: Duration = Duration::from_secs(1);
/// How long a caught-up endpoint waits for more commits before it reads again: its cost to a
/// busy floor then follows time, not the rate of changes.
const GATHER: Duration = Duration::from_millis(100);
/// How soon another instance tries to take the lease over.
const TAKEOVER: Duration = Duration::from_secs(2);

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What an endpoint is sent of an event: the event as `/v1/events` shows it, and `type`.
fn message(event: &Event) -> Vec<u8> {
    let mut body = serde_json::to_value(event).unwrap_or_default();
    body["type"] = serde_json::Value::from(event.kind.as_str());
    body.to_string().into_bytes()
}

impl Service {
    /// Delivers webhooks while this instance holds the lease; the others wait to take over.
    pub async fn deliver_webhooks(&self) {
        loop {
            match self.store.webhooks_lease().await {
                Ok(Some(mut lease)) => {
                    tracing::info!("the webhook deliverer runs here");
                    let mut endpoints: JoinSet<i64> = JoinSet::new();
                    let mut running: HashMap<i64, AbortHandle> = HashMap::new();
                    let mut every = tokio::time::interval(POLL);
                    loop {
                        every.tick().await;
                        if !lease.held().await {
                            tracing::warn!("webhook deliverer lease lost");
                            break;
                        }
                        while let Some(done) = endpoints.try_join_next() {
                            if let Ok(id) = done {
                                running.remove(&id);
                                self.webhook_metrics.forget(id);
                            }
                        }
                        running.retain(|_, task| !task.is_finished());
                        match self.store.enabled_webhooks().await {
                            Ok(enabled) => {
                                for target in enabled {
                                    let id = target.webhook.id;
                                    running.entry(id).or_insert_with(|| {
                                        let service = self.clone();
                                        endpoints.spawn(async move { service.endpoint(id).await })
                                    });
                                }
                            }
                            Err(err) => tracing::warn!(error = %err, "cannot list webhooks"),
                        }
                    }
                    // Dropping the set stops every endpoint's task.
                }
                Ok(None) => {}
                Err(err) => tracing::debug!(error = %err, "webhook lease not taken"),
            }
            tokio::time::sleep(TAKEOVER).await;
        }
    }

    /// Delivers to one endpoint until it is disabled or deleted; answers its id.
    async fn endpoint(&self, id: i64) -> i64 {
        let client = client::client(&self.config);
        let mut heard = self.store.feed().events_heard();
        loop {
            let target = match self.store.webhook_by_id(id).await {
                Ok(Some(target)) if target.webhook.enabled => target,
                Ok(_) => return id,
                Err(err) => {
                    tracing::warn!(webhook = id, error = %err, "cannot read the webhook");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            };
            if let Some(next) = target.webhook.next_try_ms {
                let wait = next - now_ms();
                if wait > 0 {
                    // Read again at least each POLL: a replay or an enabling may come first.
                    tokio::time::sleep(Duration::from_millis(wait as u64).min(POLL)).await;
                    continue;
                }
            }
            heard.mark_unchanged();
            // Caught up, it gathers what commits next before it reads again: an endpoint
            // reads the events table about ten times a second on a busy floor, not once per
            // change (a backlog, a full batch, is read on at once).
            match self.run(&client, &target).await {
                Ok(read) if read >= BATCH as usize => continue,
                Ok(0) => {
                    if let Ok(Ok(())) = tokio::time::timeout(POLL, heard.changed()).await {
                        tokio::time::sleep(GATHER).await;
                    }
                }
                Ok(_) => tokio::time::sleep(GATHER).await,
                Err(err) => {
                    tracing::warn!(webhook = id, error = %err, "webhook delivery interrupted");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    /// Sends the next batch of events to the endpoint (up to a failure); answers how many
    /// events it read.
    async fn run(&self, client: &reqwest::Client, target: &WebhookTarget) -> super::Result<usize> {
        let webhook = &target.webhook;
        let query = EventQuery {
            account_pk: target.account_pk,
            agent_pk: None,
            from: 0,
            to: i64::MAX,
            after: webhook.cursor,
            limit: BATCH,
            newest_first: false,
        };
        let events = self.store.events(&query).await?;
        if events.is_empty() {
            self.webhook_metrics.lag(webhook.id, 0, 0);
            return Ok(0);
        }
        let mut progress = Progress {
            webhook: webhook.id,
            from_cursor: webhook.cursor,
            to_cursor: webhook.cursor,
            attempts: 0,
            next_try_ms: None,
            made: Vec::new(),
        };
        // Failed attempts so far at the first event heard after the cursor.
        let mut failed_before = webhook.attempts;
        for event in &events {
            if !hears(&webhook.events, event.kind) {
                progress.to_cursor = event.id;
                continue;
            }
            let at_ms = now_ms();
            let secrets = target.signing_secrets(at_ms / 1000);
            let sent = client::send(
                client,
                &self.config,
                &webhook.url,
                &event.id.to_string(),
                &secrets,
                message(event),
            )
            .await;
            let attempt = failed_before + 1;
            let mut made = DeliveryAttempt {
                id: 0,
                event_id: event.id,
                attempt,
                at_ms,
                ok: sent.ok,
                status: sent.status.map(i64::from),
                latency_ms: sent.latency_ms,
                error: sent.error,
                next_try_ms: None,
            };
            self.webhook_metrics.attempted(webhook.id, sent.ok, 1);
            if sent.ok {
                failed_before = 0;
                progress.to_cursor = event.id;
                progress.made.push(made);
                continue;
            }
            progress.attempts = attempt;
            if attempt >= i64::from(self.config.webhook_max_attempts) {
                progress.made.push(made);
                let details = EventDetails::WebhookDisabled {
                    webhook: webhook.id,
                    url: webhook.url.clone(),
                    event: event.id,
                    attempts: attempt as u32,
                };
                self.store
                    .disable_webhook(&progress, details, now_unix())
                    .await?;
                tracing::warn!(webhook = webhook.id, attempts = attempt, "webhook disabled");
                return Ok(events.len());
            }
            let delay = retry_delay_ms(
                self.config.webhook_retry_base_ms,
                attempt as u32,
                rand::random::<f64>(),
            );
            made.next_try_ms = Some(at_ms + delay as i64);
            progress.next_try_ms = made.next_try_ms;
            progress.made.push(made);
            break;
        }
        self.store.record_progress(&progress).await?;
        let (lag, oldest) = self
            .store
            .events_after(target.account_pk, progress.to_cursor)
            .await?;
        let age = oldest.map_or(0, |at| (now_unix() - at).max(0));
        self.webhook_metrics.lag(webhook.id, lag, age);
        // After a failure too: the endpoint's loop then waits for the next try.
        Ok(events.len())
    }
}
