//! Heartbeats that change nothing but a timestamp, kept in memory until the next flush.
//!
//! A ping whose microphone permission is unchanged is answered at once and noted here; the
//! flusher writes all pending ones in one statement (see `Sessions::flush_pings`). What a
//! `kill -9` can lose is what is pending: at most one flush interval of such timestamps.
//! A change of microphone permission is an event, and never waits here.
//! A ping that would write what this instance last wrote (timestamps are whole seconds: an
//! agent pinging several times a second) is not noted at all: under such a stream most
//! flushes had nothing to change, yet sent every agent for PostgreSQL to compare.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The pings to write: each agent's and each session's latest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PendingPings {
    /// (agent, received at, the client's time).
    pub agents: Vec<(i64, i64, Option<i64>)>,
    /// (session, received at).
    pub sessions: Vec<(i64, i64)>,
}

impl PendingPings {
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.sessions.is_empty()
    }
}

pub struct Pings {
    inner: Mutex<Inner>,
    /// False after a flush failed, until one succeeds: pings are then written before they
    /// are answered, so a database that is down cannot make the loss bound grow.
    flushing: AtomicBool,
    flushed: AtomicU64,
}

impl Default for Pings {
    fn default() -> Self {
        Pings {
            inner: Mutex::default(),
            flushing: AtomicBool::new(true),
            flushed: AtomicU64::new(0),
        }
    }
}

#[derive(Default)]
struct Inner {
    agents: HashMap<i64, (i64, Option<i64>)>,
    sessions: HashMap<i64, i64>,
    /// The latest ping of each session through this instance, flushed or not: a session's
    /// idle timer counts from it even while the database is a flush behind.
    seen: HashMap<i64, i64>,
    /// What the last flushes wrote, of the current and the last second (older ones cannot
    /// match a new ping): a ping that would write it again changes nothing.
    written_agents: HashMap<i64, (i64, Option<i64>)>,
    written_sessions: HashMap<i64, i64>,
}

impl Pings {
    /// Notes a heartbeat: it replaces one of the same agent or session received no later,
    /// and is left out when it would write what was written already.
    pub fn record(&self, agent_pk: i64, session_pk: Option<i64>, at: i64, client: Option<i64>) {
        let inner = &mut *self.lock();
        if inner.written_agents.get(&agent_pk) != Some(&(at, client)) {
            newest(inner.agents.entry(agent_pk), (at, client), |v| v.0);
        }
        if let Some(session_pk) = session_pk {
            if inner.written_sessions.get(&session_pk) != Some(&at) {
                newest(inner.sessions.entry(session_pk), at, |v| *v);
            }
            newest(inner.seen.entry(session_pk), at, |v| *v);
        }
    }

    /// Notes that `pending` (taken at `now`) is written.
    pub fn written(&self, pending: &PendingPings, now: i64) {
        let inner = &mut *self.lock();
        inner.written_agents.retain(|_, (at, _)| *at >= now - 1);
        inner.written_sessions.retain(|_, at| *at >= now - 1);
        for &(pk, at, client) in &pending.agents {
            newest(inner.written_agents.entry(pk), (at, client), |v| v.0);
        }
        for &(pk, at) in &pending.sessions {
            newest(inner.written_sessions.entry(pk), at, |v| *v);
        }
    }

    /// The latest ping of this session through this instance.
    pub fn seen(&self, session_pk: i64) -> Option<i64> {
        self.lock().seen.get(&session_pk).copied()
    }

    /// Takes what is pending, and forgets `seen` times too old to keep any session alive.
    pub fn take(&self, now: i64, idle_timeout_secs: i64) -> PendingPings {
        let mut inner = self.lock();
        inner.seen.retain(|_, at| *at + idle_timeout_secs > now);
        PendingPings {
            agents: inner
                .agents
                .drain()
                .map(|(pk, (at, client))| (pk, at, client))
                .collect(),
            sessions: inner.sessions.drain().collect(),
        }
    }

    /// Puts back what a failed flush took, under any newer ping noted meanwhile.
    pub fn restore(&self, pending: PendingPings) {
        let mut inner = self.lock();
        for (pk, at, client) in pending.agents {
            inner.agents.entry(pk).or_insert((at, client));
        }
        for (pk, at) in pending.sessions {
            inner.sessions.entry(pk).or_insert(at);
        }
    }

    /// Whether a ping may wait here: the last flush succeeded.
    pub fn accepting(&self) -> bool {
        self.flushing.load(Ordering::Relaxed)
    }

    /// The outcome of a flush of `count` agents' pings.
    pub fn flushed(&self, count: Option<usize>) {
        self.flushing.store(count.is_some(), Ordering::Relaxed);
        if let Some(count) = count {
            self.flushed.fetch_add(count as u64, Ordering::Relaxed);
        }
    }

    /// How many agents' pings were flushed in all.
    pub fn flushed_total(&self) -> u64 {
        self.flushed.load(Ordering::Relaxed)
    }

    /// How many agents have a ping waiting.
    pub fn pending(&self) -> usize {
        self.lock().agents.len()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Puts `value` in `entry` unless it holds one received later (by `at`).
fn newest<V>(entry: Entry<'_, i64, V>, value: V, at: impl Fn(&V) -> i64) {
    match entry {
        Entry::Occupied(mut held) if at(held.get()) <= at(&value) => {
            held.insert(value);
        }
        Entry::Occupied(_) => {}
        Entry::Vacant(empty) => {
            empty.insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_ping_wins_and_a_failed_flush_keeps_newer_ones() {
        let pings = Pings::default();
        pings.record(1, Some(10), 100, None);
        pings.record(1, Some(10), 101, Some(99));
        let taken = pings.take(101, 60);
        assert_eq!(taken.agents, vec![(1, 101, Some(99))]);
        assert_eq!(taken.sessions, vec![(10, 101)]);
        assert!(pings.take(101, 60).is_empty());
        pings.record(1, Some(10), 102, None);
        pings.restore(taken);
        assert_eq!(pings.take(102, 60).agents, vec![(1, 102, None)]);
        assert_eq!(pings.seen(10), Some(102));
        pings.take(200, 60);
        assert_eq!(pings.seen(10), None);
    }

    #[test]
    fn a_ping_that_would_write_what_was_written_waits_for_nothing() {
        let pings = Pings::default();
        pings.record(1, Some(10), 100, None);
        let taken = pings.take(100, 60);
        pings.written(&taken, 100);
        // The same second again: nothing to write.
        pings.record(1, Some(10), 100, None);
        assert!(pings.take(100, 60).is_empty());
        // A new client time, then a new second: written.
        pings.record(1, Some(10), 100, Some(5));
        assert_eq!(pings.take(100, 60).agents, vec![(1, 100, Some(5))]);
        pings.record(1, Some(10), 101, None);
        let taken = pings.take(101, 60);
        assert_eq!(taken.agents, vec![(1, 101, None)]);
        assert_eq!(taken.sessions, vec![(10, 101)]);
        // A ping received earlier but noted later does not replace a newer one.
        pings.record(2, Some(20), 102, None);
        pings.record(2, Some(20), 101, None);
        let taken = pings.take(102, 60);
        assert_eq!(taken.agents, vec![(2, 102, None)]);
        assert_eq!(pings.seen(20), Some(102));
        // What was written seconds ago no longer holds a ping back.
        pings.written(&taken, 102);
        pings.written(&PendingPings::default(), 110);
        pings.record(2, Some(20), 102, None);
        assert_eq!(pings.take(110, 60).agents, vec![(2, 102, None)]);
    }
}
