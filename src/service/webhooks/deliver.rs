//! The deployment's one deliverer (it holds the webhooks lease: a PostgreSQL advisory lock,
//! or on SQLite the process): a task per account with enabled endpoints. Each reads its
//! account's events once for all its endpoints (only the kinds they hear, decoded and
//! serialized once) and hands each endpoint its batch; the batches go out independently, so
//! a slow or failing endpoint holds up none other, each in id order on one kept-alive
//! connection, sent from a thread of lower OS priority (`sender.rs`). Each endpoint's cursor
//! is moved past what was delivered only after (by one writer for all the batches back at
//! the time, in one transaction, not durably: `progress.rs`): a crash in between sends again
//! (with the same `webhook-id`), never skips. A failure is retried with exponential backoff and
//! jitter; after WEBHOOK_MAX_ATTEMPTS the endpoint is disabled, with a `webhook.disabled`
//! event (see `endpoint.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::{AbortHandle, JoinSet};

use super::super::Service;
use super::client;
use super::endpoint::{Done, Endpoint, Job, Outcome};
use super::progress::ProgressWriter;
use super::sender::{Message, Sender, now_ms};
use crate::domain::{Event, EventKind, hears, now_unix};

/// Events read per query.
const BATCH: i64 = 500;
/// How often the accounts with endpoints are listed again, and the lease checked; and the
/// longest an idle account waits before it looks for events (should an announcement be lost).
const POLL: Duration = Duration::from_secs(1);
pub const POLL_MS: i64 = 1000;
/// How long an account waits for more commits before it reads again: its cost to a busy
/// floor then follows time, not the rate of changes.
const GATHER: Duration = Duration::from_millis(100);
/// How soon another instance tries to take the lease over.
const TAKEOVER: Duration = Duration::from_secs(2);
/// How long a cursor moved only past events its endpoint does not hear waits to be written,
/// and how often a backlog is counted for the lag gauge.
const LAZY: Duration = Duration::from_secs(5);

/// What an endpoint is sent of an event: the event as `/v1/events` shows it, and `type`.
fn message(event: &Event) -> Arc<Message> {
    let mut body = serde_json::to_value(event).unwrap_or_default();
    body["type"] = serde_json::Value::from(event.kind.as_str());
    Arc::new(Message {
        id: event.id,
        kind: event.kind,
        at: event.at,
        body: body.to_string().into_bytes(),
    })
}

/// The kinds some of these endpoints hear; None: every kind.
fn kinds_heard<'a>(
    filters: impl Iterator<Item = &'a Vec<String>> + Clone,
) -> Option<Vec<EventKind>> {
    let kinds: Vec<EventKind> = EventKind::ALL
        .iter()
        .copied()
        .filter(|k| filters.clone().any(|f| hears(f, *k)))
        .collect();
    (kinds.len() < EventKind::ALL.len()).then_some(kinds)
}

/// Where the batches go: the sending thread, then the writer of their progress.
#[derive(Clone)]
pub struct Outlets {
    pub sender: Sender,
    pub progress: ProgressWriter,
}

/// What a round of an account's deliverer did.
enum Round {
    /// The account has no enabled endpoint left.
    Gone,
    /// Nothing was read (every endpoint has a batch out, or waits for a retry).
    Waiting,
    /// Events were read; `full`: a whole batch, more are waiting.
    Read { full: bool, covered: i64 },
}

impl Service {
    /// Delivers webhooks while this instance holds the lease; the others wait to take over.
    pub async fn deliver_webhooks(&self) {
        loop {
            match self.store.webhooks_lease().await {
                Ok(Some(mut lease)) => {
                    tracing::info!("the webhook deliverer runs here");
                    let outlets = Outlets {
                        sender: Sender::start().await,
                        progress: ProgressWriter::start(self.store.clone()),
                    };
                    let mut accounts: JoinSet<i64> = JoinSet::new();
                    let mut running: HashMap<i64, AbortHandle> = HashMap::new();
                    let mut every = tokio::time::interval(POLL);
                    loop {
                        every.tick().await;
                        if !lease.held().await {
                            tracing::warn!("webhook deliverer lease lost");
                            break;
                        }
                        while let Some(done) = accounts.try_join_next() {
                            if let Ok(account_pk) = done {
                                running.remove(&account_pk);
                            }
                        }
                        running.retain(|_, task| !task.is_finished());
                        match self.store.enabled_webhooks(None).await {
                            Ok(enabled) => {
                                for account_pk in enabled.iter().map(|t| t.account_pk) {
                                    running.entry(account_pk).or_insert_with(|| {
                                        let service = self.clone();
                                        let outlets = outlets.clone();
                                        accounts.spawn(async move {
                                            service.account_webhooks(account_pk, outlets).await;
                                            account_pk
                                        })
                                    });
                                }
                            }
                            Err(err) => tracing::warn!(error = %err, "cannot list webhooks"),
                        }
                    }
                    // Dropping the set stops every account's task (and their batches).
                }
                Ok(None) => {}
                Err(err) => tracing::debug!(error = %err, "webhook lease not taken"),
            }
            tokio::time::sleep(TAKEOVER).await;
        }
    }

    /// Delivers the account's events to its endpoints until it has none enabled.
    async fn account_webhooks(&self, account_pk: i64, outlets: Outlets) {
        let mut endpoints: BTreeMap<i64, Endpoint> = BTreeMap::new();
        let mut jobs: JoinSet<Done> = JoinSet::new();
        // The endpoint of each batch out.
        let mut batches: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut heard = self.store.feed().events_heard();
        // A backlog beyond the last full read: where it starts, its size, when counted.
        let mut backlog: Option<(i64, i64, Option<Instant>)> = None;
        loop {
            heard.mark_unchanged();
            let round = self
                .round(
                    account_pk,
                    &mut endpoints,
                    &mut jobs,
                    &mut batches,
                    &outlets,
                )
                .await;
            let mut full = false;
            match round {
                Ok(Round::Gone) => return,
                Ok(Round::Waiting) => {}
                Ok(Round::Read {
                    full: true,
                    covered,
                }) => {
                    full = true;
                    let counted = backlog.and_then(|b| b.2);
                    backlog = Some((covered, backlog.map_or(0, |b| b.1), counted));
                }
                Ok(Round::Read { .. }) => backlog = None,
                Err(err) => {
                    tracing::warn!(account = account_pk, error = %err, "webhook delivery interrupted");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            }
            if let Some((after, _, counted)) = backlog {
                if counted.is_none_or(|at| at.elapsed() >= LAZY) {
                    if let Ok(n) = self.store.events_after(account_pk, after).await {
                        backlog = Some((after, n, Some(Instant::now())));
                    }
                }
            }
            self.gauges(&endpoints, backlog.map_or(0, |b| b.1));
            // Waits for a reason to read again: a batch back (with more to read for it),
            // new events (gathered for GATHER), a retry due, or POLL.
            let now = now_ms();
            let mut wake = now + POLL_MS;
            for e in endpoints.values().filter(|e| !e.busy && e.due_at() > now) {
                wake = wake.min(e.due_at());
            }
            loop {
                let wait = Duration::from_millis((wake - now_ms()).max(0) as u64);
                tokio::select! {
                    Some(done) = jobs.join_next_with_id(), if !jobs.is_empty() => {
                        let done = match done {
                            Ok((task, done)) => {
                                batches.remove(&task);
                                done
                            }
                            Err(err) => {
                                // A batch that panicked: its endpoint starts again from its row.
                                tracing::error!(error = %err, "a webhook batch failed");
                                Done::lost(batches.remove(&err.id()).unwrap_or_default())
                            }
                        };
                        let Some(e) = endpoints.get_mut(&done.id) else { continue };
                        e.done(&done);
                        if let Err(err) = &done.outcome {
                            tracing::warn!(webhook = done.id, error = %err, "webhook delivery interrupted");
                        }
                        if matches!(done.outcome, Ok(Outcome::Disabled)) {
                            endpoints.remove(&done.id);
                            self.webhook_metrics.forget(done.id);
                            continue;
                        }
                        // Read again if there may be more for it (gathering a while for the
                        // batches still out, so that one read serves them too); after a
                        // failure, at its retry.
                        let more = full || *heard.borrow() > e.cursor;
                        let due = e.due_at();
                        self.gauges(&endpoints, backlog.map_or(0, |b| b.1));
                        let now = now_ms();
                        if due > now {
                            wake = wake.min(due);
                        } else if more && endpoints.values().any(|e| e.busy) {
                            wake = wake.min(now + GATHER.as_millis() as i64);
                        } else if more {
                            break;
                        }
                    }
                    changed = heard.changed() => {
                        if changed.is_err() {
                            tokio::time::sleep(wait).await;
                        } else {
                            tokio::time::sleep(GATHER).await;
                        }
                        break;
                    }
                    () = tokio::time::sleep(wait) => break,
                }
            }
        }
    }

    /// Reads the account's endpoints, then the events those that may be sent to have yet
    /// to have (one read for all of them at the same place: a laggard reads on its own),
    /// and hands each its batch.
    async fn round(
        &self,
        account_pk: i64,
        endpoints: &mut BTreeMap<i64, Endpoint>,
        jobs: &mut JoinSet<Done>,
        batches: &mut HashMap<tokio::task::Id, i64>,
        outlets: &Outlets,
    ) -> super::Result<Round> {
        if !endpoints.is_empty() && endpoints.values().all(|e| e.busy) {
            return Ok(Round::Waiting);
        }
        let rows = self.store.enabled_webhooks(Some(account_pk)).await?;
        let enabled: HashSet<i64> = rows.iter().map(|t| t.webhook.id).collect();
        endpoints.retain(|id, e| {
            let keep = e.busy || enabled.contains(id);
            if !keep {
                self.webhook_metrics.forget(*id);
            }
            keep
        });
        for target in rows {
            match endpoints.get_mut(&target.webhook.id) {
                Some(e) => e.refresh(target),
                None => {
                    let client = client::client(&self.config);
                    endpoints.insert(target.webhook.id, Endpoint::new(target, client));
                }
            }
        }
        if endpoints.is_empty() && jobs.is_empty() {
            return Ok(Round::Gone);
        }
        let now = now_ms();
        let mut due: Vec<i64> = endpoints
            .iter()
            .filter(|(_, e)| !e.busy && e.due_at() <= now)
            .map(|(id, _)| *id)
            .collect();
        due.sort_by_key(|id| endpoints[id].cursor);
        let mut round = Round::Waiting;
        let mut i = 0;
        while i < due.len() {
            let from = endpoints[&due[i]].cursor;
            let kinds = kinds_heard(
                due[i..]
                    .iter()
                    .map(|id| &endpoints[id].target.webhook.events),
            );
            let (events, covered) = self
                .store
                .events_of_kinds(account_pk, from, kinds.as_deref(), BATCH)
                .await?;
            let full = events.len() as i64 >= BATCH;
            round = Round::Read { full, covered };
            let messages: Vec<Arc<Message>> = events.iter().map(message).collect();
            while let Some(e) = due.get(i).and_then(|id| endpoints.get_mut(id)) {
                if e.cursor >= covered {
                    break;
                }
                let mine = e.hears(&messages);
                if mine.is_empty() {
                    // Nothing it hears: it moves on, written later.
                    e.cursor = covered;
                } else {
                    let task = self.hand(jobs, outlets, e, mine, covered);
                    batches.insert(task, due[i]);
                }
                i += 1;
            }
            if !full {
                break;
            }
        }
        // A cursor moved only past events its endpoint does not hear, written now and then.
        for (id, e) in endpoints.iter_mut() {
            if !e.busy && e.cursor > e.row.0 && e.written.elapsed() >= LAZY {
                let cursor = e.cursor;
                let task = self.hand(jobs, outlets, e, Vec::new(), cursor);
                batches.insert(task, *id);
            }
        }
        Ok(round)
    }

    /// Sends the endpoint a batch (none: its cursor is only written).
    fn hand(
        &self,
        jobs: &mut JoinSet<Done>,
        outlets: &Outlets,
        e: &mut Endpoint,
        messages: Vec<Arc<Message>>,
        covered: i64,
    ) -> tokio::task::Id {
        e.sent(&messages);
        let job = Job {
            target: e.target.clone(),
            client: e.client.clone(),
            row: e.row,
            messages,
            covered,
        };
        let service = self.clone();
        let outlets = outlets.clone();
        jobs.spawn(async move { service.deliver_batch(outlets, job).await })
            .id()
    }

    /// The lag gauges, from what is in hand: the events an endpoint has yet to have, and the
    /// age of the oldest; plus the account's backlog beyond its last full read.
    fn gauges(&self, endpoints: &BTreeMap<i64, Endpoint>, backlog: i64) {
        let now = now_unix();
        for (id, e) in endpoints {
            let (events, oldest) = e.pending;
            let events = events + if e.busy || events > 0 { backlog } else { 0 };
            self.webhook_metrics
                .lag(*id, events, oldest.map_or(0, |at| (now - at).max(0)));
        }
    }
}
