//! One endpoint as its account's deliverer keeps it (where it is, what it has in hand), and
//! a batch delivered to it: sent from the low-priority thread, then its attempts recorded
//! and its cursor moved past what was delivered, or the endpoint disabled after its last
//! attempt.

use std::sync::Arc;
use std::time::Instant;

use super::super::Service;
use super::deliver::Outlets;
use super::sender::{Batch, Made, Message};
use crate::domain::{
    DeliveryAttempt, EventDetails, WebhookTarget, hears, now_unix, retry_delay_ms,
};
use crate::store::Progress;

/// A row's cursor, failed attempts at the event after it, and when that event is tried
/// again (Unix milliseconds).
pub type Row = (i64, i64, Option<i64>);

/// An endpoint as its account's deliverer keeps it.
pub struct Endpoint {
    pub target: WebhookTarget,
    pub client: reqwest::Client,
    /// Past every event it has had or does not hear: ahead of the row's cursor until written
    /// (a crash before only skips the same events again).
    pub cursor: i64,
    /// The row as this deliverer last wrote or read it.
    pub row: Row,
    pub written: Instant,
    /// A batch is out (its `Done` comes back).
    pub busy: bool,
    /// The row is to be taken as read (it changed elsewhere, or a write failed).
    pub stale: bool,
    /// Not tried before (Unix milliseconds): after an error.
    pub paused_until: i64,
    /// Events in hand not yet delivered, and when the oldest of them happened.
    pub pending: (i64, Option<i64>),
}

impl Endpoint {
    pub fn new(target: WebhookTarget, client: reqwest::Client) -> Endpoint {
        let row = row_of(&target);
        Endpoint {
            target,
            client,
            cursor: row.0,
            row,
            written: Instant::now(),
            busy: false,
            stale: false,
            paused_until: 0,
            pending: (0, None),
        }
    }

    /// When it may be sent to next (Unix milliseconds).
    pub fn due_at(&self) -> i64 {
        self.row.2.unwrap_or(0).max(self.paused_until)
    }

    /// A fresh read of its row: taken as is when it changed elsewhere (a replay, an
    /// enabling) and no batch of its is out (whose write would explain the difference).
    pub fn refresh(&mut self, target: WebhookTarget) {
        let row = row_of(&target);
        if !self.busy && (self.stale || row != self.row) {
            self.cursor = row.0;
            self.row = row;
            self.stale = false;
            self.pending = (0, None);
        }
        self.target = target;
    }

    /// The messages after its cursor that it hears.
    pub fn hears(&self, messages: &[Arc<Message>]) -> Vec<Arc<Message>> {
        let filters = &self.target.webhook.events;
        messages
            .iter()
            .filter(|m| m.id > self.cursor && hears(filters, m.kind))
            .cloned()
            .collect()
    }

    /// A batch is out.
    pub fn sent(&mut self, messages: &[Arc<Message>]) {
        self.busy = true;
        if !messages.is_empty() {
            self.pending = (messages.len() as i64, messages.first().map(|m| m.at));
        }
    }

    /// What came of its batch.
    pub fn done(&mut self, done: &Done) {
        self.busy = false;
        match &done.outcome {
            Ok(Outcome::Moved(row)) => {
                self.row = *row;
                self.cursor = self.cursor.max(row.0);
                self.written = Instant::now();
                self.pending = match done.oldest {
                    Some(at) => ((self.pending.0 - done.delivered).max(1), Some(at)),
                    None => (0, None),
                };
            }
            Ok(Outcome::Stale) | Ok(Outcome::Disabled) => self.stale = true,
            Err(_) => {
                self.stale = true;
                self.paused_until = super::sender::now_ms() + super::deliver::POLL_MS;
            }
        }
    }
}

fn row_of(target: &WebhookTarget) -> Row {
    let w = &target.webhook;
    (w.cursor, w.attempts, w.next_try_ms)
}

pub enum Outcome {
    /// The row now says this.
    Moved(Row),
    /// The row had changed elsewhere: nothing was written.
    Stale,
    /// Disabled after its last attempt.
    Disabled,
}

/// What came of a batch.
pub struct Done {
    pub id: i64,
    pub delivered: i64,
    /// When the first event not delivered happened.
    pub oldest: Option<i64>,
    pub outcome: super::super::Result<Outcome>,
}

impl Done {
    /// A batch that came to nothing (its task panicked): the row is read again.
    pub fn lost(id: i64) -> Done {
        Done {
            id,
            delivered: 0,
            oldest: None,
            outcome: Ok(Outcome::Stale),
        }
    }
}

/// A batch for one endpoint: what it is sent, from its row as last known, and how far the
/// read covered (where its cursor goes when everything was delivered).
pub struct Job {
    pub target: WebhookTarget,
    pub client: reqwest::Client,
    pub row: Row,
    pub messages: Vec<Arc<Message>>,
    pub covered: i64,
}

impl Service {
    /// Delivers a batch (none: only moves the cursor) and records it.
    pub(super) async fn deliver_batch(&self, outlets: Outlets, job: Job) -> Done {
        let id = job.target.webhook.id;
        let made = if job.messages.is_empty() {
            Vec::new()
        } else {
            let batch = Batch {
                webhook: id,
                metrics: self.webhook_metrics.clone(),
                client: job.client.clone(),
                url: job.target.webhook.url.clone(),
                secrets: job
                    .target
                    .signing_secrets(now_unix())
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                messages: job.messages.clone(),
            };
            outlets.sender.send(self.config.clone(), batch).await
        };
        if made.is_empty() && !job.messages.is_empty() {
            // Stopped before anything was sent: nothing changed.
            return Done {
                id,
                delivered: 0,
                oldest: job.messages.first().map(|m| m.at),
                outcome: Ok(Outcome::Moved(job.row)),
            };
        }
        let delivered = made.iter().filter(|m| m.sent.ok).count();
        let oldest = job.messages.get(delivered).map(|m| m.at);
        Done {
            id,
            delivered: delivered as i64,
            oldest,
            outcome: self.record(&outlets, &job, made).await,
        }
    }

    /// Records the attempts and moves the cursor past what was delivered; after a failure,
    /// the next try, or the endpoint disabled after its last attempt.
    async fn record(
        &self,
        outlets: &Outlets,
        job: &Job,
        made: Vec<Made>,
    ) -> super::super::Result<Outcome> {
        let webhook = &job.target.webhook;
        let mut progress = Progress {
            webhook: webhook.id,
            from_cursor: job.row.0,
            // Up to the first not sent (all sent: as far as the read covered).
            to_cursor: job
                .messages
                .get(made.len())
                .map_or(job.covered, |m| m.id - 1),
            attempts: 0,
            next_try_ms: None,
            made: Vec::with_capacity(made.len()),
            trim: false,
        };
        // Failed attempts so far at the first event heard after the cursor.
        let mut failed_before = job.row.1;
        for (message, Made { at_ms, sent }) in job.messages.iter().zip(made) {
            let attempt = failed_before + 1;
            let mut made = DeliveryAttempt {
                id: 0,
                event_id: message.id,
                attempt,
                at_ms,
                ok: sent.ok,
                status: sent.status.map(i64::from),
                latency_ms: sent.latency_ms,
                error: sent.error,
                next_try_ms: None,
            };
            if sent.ok {
                failed_before = 0;
                progress.made.push(made);
                continue;
            }
            // The cursor stops just before the event that failed.
            progress.to_cursor = message.id - 1;
            progress.attempts = attempt;
            if attempt >= i64::from(self.config.webhook_max_attempts) {
                progress.made.push(made);
                let details = EventDetails::WebhookDisabled {
                    webhook: webhook.id,
                    url: webhook.url.clone(),
                    event: message.id,
                    attempts: attempt as u32,
                };
                if !self
                    .store
                    .disable_webhook(&progress, details, now_unix())
                    .await?
                {
                    return Ok(Outcome::Stale);
                }
                tracing::warn!(webhook = webhook.id, attempts = attempt, "webhook disabled");
                return Ok(Outcome::Disabled);
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
        let row = (progress.to_cursor, progress.attempts, progress.next_try_ms);
        if !outlets.progress.record(progress).await? {
            return Ok(Outcome::Stale);
        }
        Ok(Outcome::Moved(row))
    }
}
