//! Live agent state: the change feed, the in-process view it keeps coherent, and the
//! heartbeat buffer.
//!
//! Every committed change is announced on the [`Feed`]: by the instance that made it, right
//! after its commit (so that instance reads its own writes), and on PostgreSQL by
//! `pg_notify` inside the same transaction to every other instance, which listens on
//! [`CHANNEL`]; on SQLite, by the rows other processes (the CLI) commit to `events` and
//! `feed_changes`, which the server polls. The [`View`] answers the upstream routes' reads
//! from memory while the feed is live, and not at all while it may have missed a change
//! (before the first LISTEN, and from a lost feed connection until it is back and the view
//! is emptied).

mod hub;
mod pings;
mod view;

use std::sync::Arc;

use crate::domain::EventKind;

pub use hub::{Delivery, Hub, Refusal, STREAM_BUFFER};
pub use pings::{PendingPings, Pings};
pub use view::{AgentUpdate, Generation, LiveAgent, SsidKey, View, ViewStats, key_of};

/// The PostgreSQL channel the feed is announced on.
pub const CHANNEL: &str = "agentprofile_changes";

/// One committed change: to one agent (its sessions, break, wrap-up, microphone, row), or,
/// with no agent, to the account itself (suspension, wrap-up policy). `event` is the history
/// event that recorded it, if one did, and `kind` that event's kind (when known: a change
/// of unknown kind is taken to touch whatever the view holds of the agent or account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub account_pk: i64,
    pub agent_pk: Option<i64>,
    pub event: Option<i64>,
    pub kind: Option<EventKind>,
}

impl Change {
    /// The `pg_notify` payload of a change no event records: `<instance> <account> <agent or
    /// 0> 0`, small and fixed, so listeners read what they need by id. An event's is written
    /// by `sequence_events` (migration 0014): `<instance> <account> <agent or 0> <event>
    /// <kind>`; an instance that reads only the first four fields still reads it right.
    pub fn payload(&self, instance: u64) -> String {
        format!(
            "{instance} {} {} {}",
            self.account_pk,
            self.agent_pk.unwrap_or(0),
            self.event.unwrap_or(0)
        )
    }

    /// What an instance announces each second to show the channel works: no account.
    pub fn probe(instance: u64) -> String {
        format!("{instance} 0 0 0")
    }

    /// Reads a payload back: the instance that made the change, and the change.
    pub fn parse(payload: &str) -> Option<(u64, Change)> {
        let mut parts = payload.split(' ');
        let instance = parts.next()?.parse().ok()?;
        let mut id = || parts.next()?.parse::<i64>().ok();
        let (account_pk, agent_pk, event) = (id()?, id()?, id()?);
        // A kind this version does not know (a newer instance's) is an unknown kind.
        let kind = parts.next().and_then(|kind| kind.parse().ok());
        Some((
            instance,
            Change {
                account_pk,
                agent_pk: (agent_pk != 0).then_some(agent_pk),
                event: (event != 0).then_some(event),
                kind,
            },
        ))
    }
}

/// Where changes are announced, the view they keep coherent, and the streams they feed.
pub struct Feed {
    /// This process, in the payload, so it skips its own announcements (it applied them at
    /// commit already).
    instance: u64,
    view: View,
    hub: Hub,
    /// The newest event id heard (committed here, announced, read back): wakes the webhook
    /// deliverer.
    events: tokio::sync::watch::Sender<i64>,
}

impl Feed {
    pub fn new() -> Arc<Feed> {
        Arc::new(Feed {
            instance: rand::random(),
            view: View::default(),
            hub: Hub::default(),
            events: tokio::sync::watch::Sender::new(0),
        })
    }

    pub fn instance(&self) -> u64 {
        self.instance
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Changes to the newest event id heard.
    pub fn events_heard(&self) -> tokio::sync::watch::Receiver<i64> {
        self.events.subscribe()
    }

    fn heard_event(&self, change: &Change) {
        if let Some(id) = change.event {
            self.events.send_if_modified(|newest| {
                let newer = id > *newest;
                *newest = (*newest).max(id);
                newer
            });
        }
    }

    /// Changes this instance committed (or may have: also called when a commit's outcome
    /// is unknown, since forgetting is always safe). The agents of `updates` (none unless
    /// the commit is known to have succeeded) are updated in the view rather than forgotten
    /// ([`View::updated`]; `before`: the view's generation before the commit was sent).
    pub fn committed(
        &self,
        changes: &[Change],
        updates: &[(i64, AgentUpdate)],
        before: Option<Generation>,
    ) {
        for change in changes {
            let updated = change
                .agent_pk
                .is_some_and(|pk| updates.iter().any(|(agent_pk, _)| *agent_pk == pk));
            if !updated {
                self.view.changed(change);
            }
            self.heard_event(change);
        }
        for (agent_pk, update) in updates {
            self.view.updated(*agent_pk, before, update);
        }
    }

    /// A payload from the PostgreSQL channel, in commit order. The streams get every event
    /// (this instance's too: only the channel has them all in order). One that cannot be
    /// read may have been any change: the view and the streams start over.
    pub fn announced(&self, payload: &str) {
        match Change::parse(payload) {
            Some((_, probe)) if probe.account_pk == 0 => {}
            Some((instance, change)) => {
                self.hub.heard(&change);
                self.heard_event(&change);
                if instance != self.instance {
                    self.view.changed(&change);
                }
            }
            None => {
                tracing::warn!(
                    payload,
                    "unreadable change announcement; the view starts over"
                );
                self.view.restart();
                self.hub.restart();
            }
        }
    }

    /// Changes read back from the SQLite file (this process's and others'), in commit order.
    pub fn read_back(&self, changes: &[Change]) {
        for change in changes {
            self.view.changed(change);
            self.hub.heard(change);
            self.heard_event(change);
        }
    }

    /// The feed is live: announcements of every change committed from now on will arrive.
    pub fn live(&self) {
        self.view.restart();
        self.hub.set_live(true);
    }

    /// The feed may miss changes from now on: the view stops answering, the streams end.
    pub fn lost(&self) {
        self.view.stop();
        self.hub.set_live(false);
    }
}

#[cfg(test)]
mod tests {
    use super::Change;
    use crate::domain::EventKind;

    #[test]
    fn payloads_read_back() {
        let change = Change {
            account_pk: 3,
            agent_pk: Some(7),
            event: None,
            kind: None,
        };
        assert_eq!(Change::parse(&change.payload(42)), Some((42, change)));
        let event = Change {
            event: Some(11),
            kind: Some(EventKind::PresenceStale),
            ..change
        };
        assert_eq!(Change::parse("42 3 7 11 presence.stale"), Some((42, event)));
        // Written by sequence_events before the kind was added, or of a kind unknown here.
        let unknown = Change {
            kind: None,
            ..event
        };
        assert_eq!(Change::parse("42 3 7 11"), Some((42, unknown)));
        assert_eq!(Change::parse("42 3 7 11 call.hold"), Some((42, unknown)));
        assert_eq!(Change::parse("1 2"), None);
        assert_eq!(Change::parse("x 2 3 4"), None);
    }
}
