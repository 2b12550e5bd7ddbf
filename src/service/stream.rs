//! The live event stream: tickets to open it, the delivery of committed events to the open
//! streams (with each agent's roster entry after the change), the replay of what a resuming
//! client missed, and the sweeper that records `presence.*` events and run-out wrap-ups.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use super::{Found, Result, Service};
use crate::domain::{Account, Event, EventQuery, NewTicket, RosterEntry, Token, now_unix};
use crate::live::{Delivery, Refusal};
use crate::secrets;

/// How long a stream ticket may wait to be used.
pub const TICKET_TTL_SECS: i64 = 30;
/// Events read from the history per query when a stream replays what it missed.
const REPLAY_PAGE: i64 = 500;
/// How long opening a stream waits for a feed that is not live (yet).
const FEED_WAIT: Duration = Duration::from_secs(3);
/// Events read from the database per query when delivering.
const DELIVERY_BATCH: usize = 500;

/// What a stream sends of an event: the history event, and (when delivered live) the
/// agent's roster entry as read after the change.
#[derive(Serialize)]
struct StreamEvent<'a> {
    #[serde(flatten)]
    event: &'a Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a RosterEntry>,
}

fn delivery(event: &Event, agent_pk: Option<i64>, agent: Option<&RosterEntry>) -> Delivery {
    Delivery {
        id: event.id,
        agent_pk,
        data: serde_json::to_string(&StreamEvent { event, agent }).unwrap_or_default(),
    }
}

/// One open stream: first what was missed after the client's last event id, then the
/// events delivered live, each once, in commit order.
pub struct EventStream {
    service: Service,
    query: EventQuery,
    replaying: bool,
    replayed: VecDeque<Event>,
    live: mpsc::Receiver<Arc<Delivery>>,
}

/// Presence crossings recorded per transaction: big enough that a floor of 10,000 going
/// silent is 20 commits, small enough that one holds its account's event lock briefly.
const PRESENCE_CHUNK: usize = 500;
impl EventStream {
    /// The next event; None when the stream ends (the client then resumes by id).
    pub async fn next(&mut self) -> Option<Arc<Delivery>> {
        loop {
            if let Some(event) = self.replayed.pop_front() {
                self.query.after = event.id;
                // Sent straight to this stream: no hub filters it by agent.
                return Some(Arc::new(delivery(&event, None, None)));
            }
            if self.replaying {
                match self.service.store.events(&self.query).await {
                    Ok(page) => {
                        self.replaying = page.len() as i64 == self.query.limit;
                        self.replayed.extend(page);
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "stream replay failed; the stream ends");
                        return None;
                    }
                }
                continue;
            }
            let next = self.live.recv().await?;
            // Replayed already (or from before the stream opened): it committed before the
            // history was read.
            if next.id > self.query.after {
                self.query.after = next.id;
                return Some(next);
            }
        }
    }
}

impl Service {
    /// A single-use ticket to open a stream as this token, valid for [`TICKET_TTL_SECS`].
    pub async fn create_ticket(&self, token_pk: i64, now: i64) -> Result<(String, i64)> {
        let ticket = secrets::new_ticket();
        let expires_at = now + TICKET_TTL_SECS;
        let new = NewTicket {
            ticket_hash: &secrets::hash(&ticket),
            token_pk,
            expires_at,
        };
        self.store.create_ticket(new, now).await?;
        Ok((ticket, expires_at))
    }

    /// Uses a ticket up: the account and token it opens a stream for.
    pub async fn redeem_ticket(&self, ticket: &str, now: i64) -> Result<Found<(Account, Token)>> {
        let found = self
            .store
            .redeem_ticket(&secrets::hash(ticket), now)
            .await?;
        Ok(self.usable_token(found, now))
    }

    /// Opens a stream of the account's events (one agent's, with `agent_pk`): those after
    /// `after` from the history, then live ones; without `after`, those that commit from now.
    pub async fn open_stream(
        &self,
        account_pk: i64,
        agent_pk: Option<i64>,
        after: Option<i64>,
    ) -> Result<Result<EventStream, Refusal>> {
        let max = self.config.stream_max_per_account as usize;
        let hub = self.store.feed().hub();
        // Listening first, then reading the history: nothing commits in between unseen. A
        // feed that is (re)connecting is waited for a little.
        let waited = Instant::now();
        let live = loop {
            match hub.subscribe(account_pk, agent_pk, max) {
                Ok(live) => break live,
                Err(Refusal::NotLive) if waited.elapsed() < FEED_WAIT => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(refusal) => return Ok(Err(refusal)),
            }
        };
        let (after, replaying) = match after {
            Some(after) => (after, true),
            // Heard live but committed before now: skipped, like replayed ones.
            None => (self.store.newest_event(account_pk).await?, false),
        };
        Ok(Ok(EventStream {
            service: self.clone(),
            query: EventQuery {
                account_pk,
                agent_pk,
                from: 0,
                to: i64::MAX,
                after,
                limit: REPLAY_PAGE,
                newest_first: false,
            },
            replaying,
            replayed: VecDeque::new(),
            live,
        }))
    }

    /// Streams open on this server.
    pub fn open_streams(&self) -> usize {
        self.store.feed().hub().open_streams()
    }

    /// Ends every stream and refuses new ones: the server is stopping.
    pub fn close_streams(&self) {
        self.store.feed().hub().close();
    }

    /// Delivers the events the feed hears to the open streams, for as long as it is polled.
    pub async fn deliver_events(&self) {
        let hub = self.store.feed().hub();
        loop {
            let heard = hub.take().await;
            let ids: Vec<i64> = heard.iter().filter_map(|c| c.event).collect();
            for batch in ids.chunks(DELIVERY_BATCH) {
                if let Err(err) = self.deliver(batch).await {
                    // Those events are lost to the streams: they end, and resume by id.
                    tracing::warn!(error = %err, "events not delivered; every stream resumes");
                    hub.restart();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }

    async fn deliver(&self, ids: &[i64]) -> Result<()> {
        let events = self.store.events_by_id(ids).await?;
        let mut agents: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (account_pk, agent_pk, _) in &events {
            if let Some(agent_pk) = agent_pk {
                agents.entry(*account_pk).or_default().push(*agent_pk);
            }
        }
        let now = now_unix();
        let mut entries: HashMap<(i64, String), RosterEntry> = HashMap::new();
        for (account_pk, mut pks) in agents {
            pks.sort_unstable();
            pks.dedup();
            for entry in self.roster(account_pk, Some(&pks), now).await? {
                entries.insert((account_pk, entry.agent_id.clone()), entry);
            }
        }
        let hub = self.store.feed().hub();
        for (account_pk, agent_pk, event) in &events {
            let entry = event
                .agent_id
                .as_ref()
                .and_then(|id| entries.get(&(*account_pk, id.clone())));
            hub.deliver(*account_pk, Arc::new(delivery(event, *agent_pk, entry)));
        }
        Ok(())
    }

    /// Sweeps every `every` while this instance holds the sweeper's lease (one per
    /// deployment); the others wait to take it over.
    pub async fn sweep_every(&self, every: Duration) {
        loop {
            match self.store.sweeper_lease().await {
                Ok(Some(mut lease)) => {
                    tracing::info!("the sweeper runs here");
                    let mut ticks = tokio::time::interval(every);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        ticks.tick().await;
                        if !lease.held().await {
                            tracing::warn!("sweeper lease lost");
                            break;
                        }
                        if let Err(err) = self.sweep(now_unix()).await {
                            tracing::warn!(error = %err, "sweep failed");
                        }
                    }
                }
                Ok(None) => {}
                Err(err) => tracing::debug!(error = %err, "sweeper lease not taken"),
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    /// One sweep: records the presence crossings and the ends of run-out wrap-ups since the
    /// last one, so that streams hear of them when they happen, and deletes the tags past
    /// their retention, and the events past theirs, and seals the reports' roll-up. Answers
    /// how many presence crossings it recorded.
    pub async fn sweep(&self, now: i64) -> Result<usize> {
        for account_pk in self.store.accounts_with_expired_wrap_ups(now).await? {
            self.store.close_expired_wrap_ups(account_pk, now).await?;
        }
        let recorded = self.sweep_presence(now).await?;
        self.sweep_tags(now).await?;
        self.sweep_events(now).await?;
        self.sweep_roll_up(now).await?;
        Ok(recorded)
    }

    /// Runs the reports' roll-up every half minute, or at every sweep while it has days to
    /// catch up on.
    async fn sweep_roll_up(&self, now: i64) -> Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        if now < self.roll_up_at.load(Relaxed) {
            return Ok(());
        }
        let caught_up = self.roll_up(now).await? < super::rollup::DAYS_PER_SWEEP;
        let next = if caught_up { now + 30 } else { now };
        self.roll_up_at.store(next, Relaxed);
        Ok(())
    }

    /// Records each agent's presence crossing since the last sweep, a chunk of them per
    /// transaction (a floor going silent together is one commit per chunk, not one per
    /// agent); answers how many.
    pub async fn sweep_presence(&self, now: i64) -> Result<usize> {
        let rule = self.config.presence();
        let idle = self.config.session_idle_timeout_secs;
        let crossings: Vec<_> = (self.store.presence_changes(now, idle, rule).await?)
            .into_iter()
            .map(|change| {
                let at = rule.crossed_at(change.to, change.seen, now);
                (change, at)
            })
            .collect();
        let mut recorded = 0;
        for chunk in crossings.chunks(PRESENCE_CHUNK) {
            recorded += self.store.record_presences(chunk).await?;
        }
        Ok(recorded)
    }
}
