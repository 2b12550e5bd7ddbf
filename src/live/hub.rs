//! Fan-out of committed events to this instance's open event streams.
//!
//! The feed's follower hears every committed event in commit order (each account's ids
//! ascend in it); the hub keeps those of accounts that have a stream open, a delivery task
//! reads them from the database in batches ([`Hub::take`]), and [`Hub::deliver`] hands each
//! to the account's streams, serialised once. A stream's buffer is bounded: one that falls
//! behind is ended, and its client resumes by event id. Every stream ends when the feed may
//! have missed a change, since then so may the streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc};

use super::Change;

/// Events a stream may have waiting to be sent before it is ended as too slow.
pub const STREAM_BUFFER: usize = 512;
/// Events heard and not yet delivered before the hub gives up and ends every stream.
const MAX_HEARD: usize = 100_000;

/// One event as every stream sends it.
#[derive(Debug)]
pub struct Delivery {
    pub id: i64,
    pub agent_pk: Option<i64>,
    /// The SSE `data:` line: the event's JSON.
    pub data: String,
}

/// Why a stream cannot be opened now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The feed is down (or the server is stopping): the stream could miss changes.
    NotLive,
    /// The account has as many streams open as it may.
    TooMany,
}

struct Stream {
    agent_pk: Option<i64>,
    tx: mpsc::Sender<Arc<Delivery>>,
}

#[derive(Default)]
struct Inner {
    live: bool,
    closed: bool,
    streams: HashMap<i64, Vec<Stream>>,
    /// Events heard for accounts with streams, oldest first.
    heard: Vec<Change>,
    ended_slow: u64,
}

#[derive(Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    wake: Notify,
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a stream of the account's events (of one agent's only, with `agent_pk`),
    /// from those heard after this call.
    pub fn subscribe(
        &self,
        account_pk: i64,
        agent_pk: Option<i64>,
        max_per_account: usize,
    ) -> Result<mpsc::Receiver<Arc<Delivery>>, Refusal> {
        let mut inner = self.lock();
        if !inner.live || inner.closed {
            return Err(Refusal::NotLive);
        }
        let streams = inner.streams.entry(account_pk).or_default();
        streams.retain(|s| !s.tx.is_closed());
        if streams.len() >= max_per_account {
            return Err(Refusal::TooMany);
        }
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        streams.push(Stream { agent_pk, tx });
        Ok(rx)
    }

    /// An event the follower heard committed. Kept only for accounts with a stream: a
    /// stream opened later reads older events from the history.
    pub fn heard(&self, change: &Change) {
        if change.event.is_none() {
            return;
        }
        let mut inner = self.lock();
        if !inner.streams.contains_key(&change.account_pk) {
            return;
        }
        inner.heard.push(*change);
        if inner.heard.len() > MAX_HEARD {
            tracing::warn!("event delivery fell behind; every stream ends and resumes");
            end_all(&mut inner);
            return;
        }
        drop(inner);
        self.wake.notify_one();
    }

    /// Waits for heard events, and takes them all.
    pub async fn take(&self) -> Vec<Change> {
        loop {
            {
                let mut inner = self.lock();
                if !inner.heard.is_empty() {
                    return std::mem::take(&mut inner.heard);
                }
            }
            self.wake.notified().await;
        }
    }

    /// Hands an event to the account's streams; ends those whose buffer is full.
    pub fn deliver(&self, account_pk: i64, delivery: Arc<Delivery>) {
        let mut inner = self.lock();
        let Some(streams) = inner.streams.get_mut(&account_pk) else {
            return;
        };
        let before = streams.len();
        streams.retain(|s| {
            if s.agent_pk.is_some() && s.agent_pk != delivery.agent_pk {
                return !s.tx.is_closed();
            }
            match s.tx.try_send(delivery.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => false,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        let slow = before - streams.len();
        if streams.is_empty() {
            inner.streams.remove(&account_pk);
        }
        inner.ended_slow += slow as u64;
    }

    /// The feed is live (true) or may miss changes (false): then every stream ends.
    pub fn set_live(&self, live: bool) {
        let mut inner = self.lock();
        if !live {
            end_all(&mut inner);
        }
        inner.live = live;
    }

    /// Ends every stream, and refuses new ones: the server is stopping.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        end_all(&mut inner);
    }

    /// Ends every stream (their clients resume by id): the events to deliver are lost.
    pub fn restart(&self) {
        end_all(&mut self.lock());
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        let inner = self.lock();
        inner
            .streams
            .values()
            .flatten()
            .filter(|s| !s.tx.is_closed())
            .count()
    }

    /// Streams ended (since start) because a client did not keep up, or left.
    pub fn ended_streams(&self) -> u64 {
        self.lock().ended_slow
    }
}

fn end_all(inner: &mut Inner) {
    inner.streams.clear();
    inner.heard.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(account_pk: i64, agent_pk: i64, id: i64) -> Change {
        Change {
            account_pk,
            agent_pk: Some(agent_pk),
            event: Some(id),
            kind: None,
        }
    }

    fn delivery(id: i64, agent_pk: i64) -> Arc<Delivery> {
        Arc::new(Delivery {
            id,
            agent_pk: Some(agent_pk),
            data: id.to_string(),
        })
    }

    #[tokio::test]
    async fn keeps_only_what_a_stream_waits_for() {
        let hub = Hub::default();
        assert_eq!(hub.subscribe(1, None, 5).unwrap_err(), Refusal::NotLive);
        hub.set_live(true);
        hub.heard(&event(1, 7, 1));
        let mut rx = hub.subscribe(1, None, 5).unwrap();
        hub.heard(&event(2, 8, 2));
        hub.heard(&event(1, 7, 3));
        assert_eq!(hub.take().await, vec![event(1, 7, 3)]);
        hub.deliver(1, delivery(3, 7));
        assert_eq!(rx.recv().await.unwrap().id, 3);
    }

    #[tokio::test]
    async fn filters_by_agent_limits_and_ends_slow_streams() {
        let hub = Hub::default();
        hub.set_live(true);
        let mut one = hub.subscribe(1, Some(7), 2).unwrap();
        let slow = hub.subscribe(1, None, 2).unwrap();
        assert_eq!(hub.subscribe(1, None, 2).unwrap_err(), Refusal::TooMany);
        hub.deliver(1, delivery(1, 8));
        hub.deliver(1, delivery(2, 7));
        assert_eq!(one.recv().await.unwrap().id, 2);
        for id in 3..(3 + STREAM_BUFFER as i64) {
            hub.deliver(1, delivery(id, 7));
            one.try_recv().unwrap();
        }
        // `slow` never read: its buffer filled, and it was ended.
        assert_eq!(hub.open_streams(), 1);
        assert_eq!(hub.ended_streams(), 1);
        drop(slow);
        hub.set_live(false);
        assert_eq!(hub.open_streams(), 0);
        assert!(one.recv().await.is_none());
    }
}
