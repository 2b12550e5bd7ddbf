//! The in-process view of agent state: what an ssid resolves to, and each agent's break,
//! wrap-up and microphone, answered from memory while the change feed is live.
//!
//! It is filled on demand: a read that misses loads from the database and installs what it
//! read. A change forgets what it touched. The race between the two (a load that read the
//! old state, installing after the change was forgotten) is closed by generations: every
//! forget takes a new generation and marks the agent (or account) with it; a load takes a
//! [`Generation`] *before* it reads, and installs only if nothing it read was
//! forgotten since. So an installed entry is never older than the last change announced.
//! A session is kept with the generation it was read at, and counts only while its agent
//! has not been forgotten since: forgetting an agent needs no list of its sessions, and the
//! sessions left behind are swept once they outnumber the agents.
//! A change this instance commits and knows the effect of (a break started or ended) updates
//! the agent in place instead of forgetting it ([`View::updated`]): its sessions still count,
//! and its next request needs no reload (which took four round trips).
//!
//! Memory is what bounds this (100,000 sessions must fit in well under 50 MB): sessions are
//! keyed by 128 bits of the ssid's SHA-256, and a break or wrap-up is boxed, so an agent
//! without one carries a pointer, not the whole record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::domain::{Account, Agent, Break, MicPerm, Session, WrapUp};

/// The view's maps hash with foldhash, not std's SipHash, which cost each read about a
/// thousand instructions over its three lookups. Their keys are not the client's to choose:
/// SHA-256 digests and database ids (and the hasher is seeded per map).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What the view keys sessions by: the first 128 bits of the ssid's SHA-256 (finding an
/// ssid whose key is another's takes 2^128 tries).
pub type SsidKey = u128;

/// The key of an ssid's SHA-256.
pub fn key_of(digest: &[u8; 32]) -> SsidKey {
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(first)
}

/// An agent's state as the upstream routes read it (its account is kept once, beside it).
#[derive(Debug)]
pub struct LiveAgent {
    pub agent: Arc<Agent>,
    pub open_break: Option<Box<Break>>,
    /// The wrap-up not ended yet; whether its time ran out is judged at request time.
    pub wrap: Option<Box<WrapUp>>,
    pub mic_perm: Option<MicPerm>,
}

/// What a write of this instance did to an agent's state, applied to the view at its commit
/// in place of forgetting the agent ([`View::updated`]): the agent's next request then
/// finds it, and its sessions, in memory, with no reload.
#[derive(Debug, Clone)]
pub enum AgentUpdate {
    BreakStarted(Break),
    BreakEnded,
}

/// Taken before a load reads the database; see the module's doc.
#[derive(Debug, Clone, Copy)]
pub struct Generation(u64);

/// The view's size and use, for the metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct ViewStats {
    pub live: bool,
    pub sessions: usize,
    pub agents: usize,
    pub hits: u64,
    pub misses: u64,
}

#[derive(Default)]
pub struct View {
    inner: RwLock<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Inner {
    /// Off until the feed is live, and whenever it may have missed a change.
    live: bool,
    generation: u64,
    /// Loads whose generation is older than this never install (the view was emptied since).
    floor: u64,
    sessions: HashMap<SsidKey, SessionSlot>,
    /// Sweep `sessions` when it grows past this.
    sweep_above: usize,
    agents: HashMap<i64, AgentSlot>,
    accounts: HashMap<i64, AccountSlot>,
}

struct SessionSlot {
    session: Session,
    /// The generation it was read at: it counts while its agent was not forgotten since.
    read_at: u64,
}

#[derive(Default)]
struct AgentSlot {
    state: Option<Arc<LiveAgent>>,
    /// The generation of the last change forgotten or updated in place: loads read before
    /// it do not install.
    forgotten: u64,
    /// The generation of the last change forgotten: sessions read before it no longer count
    /// (an update in place does not touch them).
    sessions_forgotten: u64,
}

#[derive(Default)]
struct AccountSlot {
    account: Option<Arc<Account>>,
    forgotten: u64,
}

impl View {
    /// The generation a load that may install reads under, or None while the view is off.
    pub fn generation(&self) -> Option<Generation> {
        let inner = self.read();
        inner.live.then_some(Generation(inner.generation))
    }

    /// What an ssid resolves to, when the view knows it.
    pub fn session(&self, key: &SsidKey) -> Option<(Session, Arc<LiveAgent>, Arc<Account>)> {
        let inner = self.read();
        let found = inner.sessions.get(key).and_then(|slot| {
            let agent = inner.agents.get(&slot.session.agent_pk)?;
            if agent.sessions_forgotten > slot.read_at {
                return None;
            }
            let state = agent.state.clone()?;
            let account = inner
                .accounts
                .get(&state.agent.account_pk)?
                .account
                .clone()?;
            Some((slot.session.clone(), state, account))
        });
        drop(inner);
        self.count(found.is_some());
        found
    }

    /// Whether a session of this key was read into the view (its agent's state may have been
    /// forgotten since, until the next read): a credential the server has seen valid.
    pub fn has_session(&self, key: &SsidKey) -> bool {
        self.read().sessions.contains_key(key)
    }

    /// An agent's state, when the view knows it.
    pub fn agent(&self, agent_pk: i64) -> Option<Arc<LiveAgent>> {
        let found = self
            .read()
            .agents
            .get(&agent_pk)
            .and_then(|slot| slot.state.clone());
        self.count(found.is_some());
        found
    }

    /// The agent's open break, when the view holds the agent's state (not counted as a
    /// lookup: what a break's end assumes, and the database checks).
    pub fn open_break(&self, agent_pk: i64) -> Option<Break> {
        let inner = self.read();
        let state = inner.agents.get(&agent_pk)?.state.as_ref()?;
        state.open_break.as_deref().cloned()
    }

    /// Keeps what a load read under `read_under` (and the session it came through), unless a
    /// change to that agent or account was forgotten since. Returns the state either way:
    /// it is what the database said, good for the request that read it.
    pub fn install(
        &self,
        read_under: Generation,
        session: Option<(SsidKey, &Session)>,
        state: LiveAgent,
        account: Account,
    ) -> Arc<LiveAgent> {
        let (agent_pk, account_pk) = (state.agent.id, state.agent.account_pk);
        let mut inner = self.write();
        let inner = &mut *inner;
        let stale = |forgotten: u64| forgotten > read_under.0;
        if !inner.live
            || read_under.0 < inner.floor
            || inner
                .agents
                .get(&agent_pk)
                .is_some_and(|s| stale(s.forgotten))
            || inner
                .accounts
                .get(&account_pk)
                .is_some_and(|s| stale(s.forgotten))
        {
            return Arc::new(state);
        }
        // One copy of an account for all its agents.
        let account_slot = inner.accounts.entry(account_pk).or_default();
        account_slot
            .account
            .get_or_insert_with(|| Arc::new(account));
        let state = Arc::new(state);
        inner.agents.entry(agent_pk).or_default().state = Some(state.clone());
        if let Some((key, session)) = session {
            let slot = SessionSlot {
                session: session.clone(),
                read_at: read_under.0,
            };
            inner.sessions.insert(key, slot);
            inner.sweep_if_crowded();
        }
        state
    }

    /// Forgets what a change touched: nothing, for an event of a kind that leaves the view
    /// alone (presence: a floor going silent together forgot all its agents at once, and
    /// their next reads stalled behind a thousand reloads).
    pub fn changed(&self, change: &super::Change) {
        if change.kind.is_some_and(|kind| kind.leaves_live_view()) {
            return;
        }
        let mut inner = self.write();
        inner.generation += 1;
        let generation = inner.generation;
        match change.agent_pk {
            Some(agent_pk) => inner.forget_agent(agent_pk, generation),
            None => {
                let slot = inner.accounts.entry(change.account_pk).or_default();
                slot.account = None;
                slot.forgotten = generation;
                let agents: Vec<i64> = inner
                    .agents
                    .iter()
                    .filter(|(_, slot)| {
                        slot.state
                            .as_ref()
                            .is_some_and(|s| s.agent.account_pk == change.account_pk)
                    })
                    .map(|(pk, _)| *pk)
                    .collect();
                for agent_pk in agents {
                    inner.forget_agent(agent_pk, generation);
                }
            }
        }
    }

    /// A change of this instance's, committed, whose effect on the agent is `update`: applied
    /// to the agent's state in place if the view held that state when `before` was taken
    /// (before the commit was sent) and has forgotten nothing of the agent since, so the
    /// state it applies to is the one the write changed (what another write commits after
    /// it is forgotten when announced, after this). Otherwise forgotten, as by [`Self::changed`].
    /// Loads in flight are refused either way (their generation is older).
    pub fn updated(&self, agent_pk: i64, before: Option<Generation>, update: &AgentUpdate) {
        let mut inner = self.write();
        let inner = &mut *inner;
        inner.generation += 1;
        let generation = inner.generation;
        let live = inner.live;
        let floor = inner.floor;
        let slot = inner.agents.entry(agent_pk).or_default();
        let held = before
            .filter(|b| live && b.0 >= floor && slot.forgotten <= b.0)
            .and(slot.state.clone());
        match held {
            Some(old) => {
                let open_break = match update {
                    AgentUpdate::BreakStarted(started) => Some(Box::new(started.clone())),
                    AgentUpdate::BreakEnded => None,
                };
                let new = LiveAgent {
                    agent: old.agent.clone(),
                    open_break,
                    wrap: old.wrap.clone(),
                    mic_perm: old.mic_perm,
                };
                slot.state = Some(Arc::new(new));
                slot.forgotten = generation;
            }
            None => inner.forget_agent(agent_pk, generation),
        }
    }

    /// Empties the view and answers from it again: the feed is live from here on.
    pub fn restart(&self) {
        let mut inner = self.write();
        inner.clear();
        inner.live = true;
    }

    /// Empties the view and stops answering from it.
    pub fn stop(&self) {
        let mut inner = self.write();
        inner.clear();
        inner.live = false;
    }

    pub fn stats(&self) -> ViewStats {
        let inner = self.read();
        ViewStats {
            live: inner.live,
            sessions: inner.sessions.len(),
            agents: inner.agents.values().filter(|s| s.state.is_some()).count(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    // A panic while holding the lock cannot leave the maps half-changed in a way that
    // matters more than a cache miss: carry on with them.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn forget_agent(&mut self, agent_pk: i64, generation: u64) {
        let slot = self.agents.entry(agent_pk).or_default();
        slot.state = None;
        slot.forgotten = generation;
        slot.sessions_forgotten = generation;
    }

    /// Drops the sessions that no longer count, once the map has doubled since the last
    /// sweep: the cost of a sweep is spread over as many installs as it keeps.
    fn sweep_if_crowded(&mut self) {
        if self.sessions.len() <= self.sweep_above {
            return;
        }
        let Inner {
            sessions, agents, ..
        } = self;
        sessions.retain(|_, slot| {
            agents
                .get(&slot.session.agent_pk)
                .is_some_and(|a| a.state.is_some() && a.sessions_forgotten <= slot.read_at)
        });
        self.sweep_above = 2 * self.sessions.len() + 1024;
    }

    fn clear(&mut self) {
        self.generation += 1;
        self.floor = self.generation;
        self.sessions = HashMap::default();
        self.sweep_above = 0;
        self.agents = HashMap::default();
        self.accounts = HashMap::default();
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
