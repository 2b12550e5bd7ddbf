//! Logins, logouts and the heartbeat.

use super::agents::enabled;
use super::{Found, OnConflict, Result, Service, ServiceError};
use crate::domain::{Account, Act, Actor, Agent, NewSession, Ping, SessionContext, now_unix};
use crate::live::{PendingPings, Pings, key_of};
use crate::secrets;

impl Service {
    /// Logs the agent in; returns the new ssid (only its hash is kept) and when it expires.
    pub async fn login(&self, agent: &Agent, act: Act) -> Result<(String, i64)> {
        self.login_with(agent, None, act).await
    }

    /// Logs the agent in with the ssid an existing login service registers (`Some`), or with
    /// a new one of ours (`None`); returns the ssid and when it expires. Only the hash is
    /// kept, either way, and the same idle timeout and maximum age apply. A registered ssid
    /// must be [`SSID_CHARS`] long, of `[A-Za-z0-9_-]` (`BadSsid`); one that is already any
    /// session's, of any agent or account, open or ended, is `AlreadyExists` (the database's
    /// unique index decides, so that of two racing registrations one wins).
    pub async fn login_with(
        &self,
        agent: &Agent,
        ssid: Option<&str>,
        act: Act,
    ) -> Result<(String, i64)> {
        let now = act.now;
        if let Some(ssid) = ssid {
            check_ssid(ssid)?;
        }
        enabled(agent)?;
        let registered = ssid.is_some();
        let ssid = ssid.map_or_else(secrets::new_ssid, str::to_owned);
        let expires_at = now + self.config.session_max_age_secs;
        let new = NewSession {
            ssid_hash: secrets::hash(&ssid),
            expires_at,
            registered,
        };
        self.store
            .create_session(agent, &new, act)
            .await
            .on_conflict(ServiceError::AlreadyExists)?;
        Ok((ssid, expires_at))
    }

    /// Whether the live view has read a session of this ssid (no database lookup): what the
    /// throttle answers from a blocked address.
    pub fn knows_session(&self, ssid: &str) -> bool {
        let key = key_of(&secrets::digest(ssid));
        self.store.feed().view().has_session(&key)
    }

    /// What an ssid resolves to, if it is live at `now` and its agent is enabled: from the
    /// live view when it knows, else from the database (and then the view knows).
    pub async fn live_session(&self, ssid: &str, now: i64) -> Result<Found<SessionContext>> {
        let digest = secrets::digest(ssid);
        let key = key_of(&digest);
        let view = self.store.feed().view();
        if let Some((session, state, account)) = view.session(&key) {
            let found = SessionContext {
                session,
                agent: state.agent.clone(),
                account,
            };
            if self.is_usable(&found, now) {
                return Ok(Found::Valid(found));
            }
            // Ended, expired and disabled are final; idle is only what this instance saw:
            // another one may have been pinged since. The database says.
            let s = &found.session;
            if s.ended_at.is_some() || now >= s.expires_at || found.agent.disabled {
                return Ok(Found::Stale);
            }
        }
        let generation = view.generation();
        let found = self.store.session(&hex::encode(digest)).await?;
        if let (Some(generation), Some(found)) = (generation, &found)
            && let Some((state, account)) = self.store.live_agent(found.agent.id).await?
        {
            view.install(generation, Some((key, &found.session)), state, account);
        }
        Ok(match found {
            None => Found::Unknown,
            Some(c) if self.is_usable(&c, now) => Found::Valid(c),
            Some(_) => Found::Stale,
        })
    }

    /// Live, by the latest ping this instance saw too; and the agent is enabled (a disabled
    /// agent's sessions were ended: an old ssid of theirs is just invalid).
    fn is_usable(&self, found: &SessionContext, now: i64) -> bool {
        let mut session = found.session.clone();
        if let Some(seen) = self.pings.seen(session.id) {
            session.last_seen_at = session.last_seen_at.max(seen);
        }
        session.is_live(now, self.config.session_idle_timeout_secs) && !found.agent.disabled
    }

    /// Logs one open session of the account out by its ssid; false when there was none.
    pub async fn logout_session(&self, account: &Account, ssid: &str, act: Act) -> Result<bool> {
        let ssid = super::required("ssid", ssid)?;
        Ok(self
            .store
            .end_session(account.id, &secrets::hash(ssid), act)
            .await?)
    }

    /// Logs every session of the agent out; returns how many were open.
    pub async fn logout_agent(&self, agent: &Agent, act: Act) -> Result<u64> {
        Ok(self.store.end_agent_sessions(agent, act).await?)
    }

    /// Records a heartbeat through a session or a token. One that changes nothing but the
    /// time waits in memory for the next flush; a change of microphone permission is an
    /// event, written before the answer (as is every ping while the view is off, or after
    /// a flush failed).
    pub async fn record_ping(&self, agent: &Agent, ping: Ping, actor: Actor) -> Result<()> {
        if self.pings.accepting()
            && let Some(state) = self.live_agent(agent).await?
            && state.mic_perm == Some(ping.mic_perm)
        {
            let Ping {
                session_pk,
                received_at,
                client_time,
                ..
            } = ping;
            self.pings
                .record(agent.id, session_pk, received_at, client_time);
            return Ok(());
        }
        Ok(self.store.record_ping(agent, ping, actor).await?)
    }

    /// Flushes the waiting heartbeats every `every`, for as long as it is polled.
    pub async fn flush_pings_every(&self, every: std::time::Duration) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush_pings_now().await;
        }
    }

    /// Flushes the waiting heartbeats once; a failure is logged, and they wait.
    pub async fn flush_pings_now(&self) {
        if let Err(err) = self.flush_pings(now_unix()).await {
            tracing::warn!(error = %err, pending = self.pings.pending(), "heartbeats not flushed yet");
        }
    }

    /// Keeps the live view coherent with what other processes commit (see `Store::follow`).
    pub async fn follow_changes(&self) {
        self.store.follow().await
    }

    /// Writes the heartbeats waiting in memory; on failure they wait for the next flush.
    pub async fn flush_pings(&self, now: i64) -> Result<usize> {
        let pending = self.pings.take(now, self.config.session_idle_timeout_secs);
        if pending.is_empty() {
            return Ok(0);
        }
        let mut taken = Unwritten(&self.pings, Some(pending));
        let written = self.store.flush_pings(taken.pending()).await;
        match written {
            Ok(()) => {
                self.pings.written(taken.pending(), now);
                let flushed = taken.written();
                self.pings.flushed(Some(flushed));
                Ok(flushed)
            }
            Err(err) => {
                self.pings.flushed(None);
                Err(err.into())
            }
        }
    }
}

/// Heartbeats taken for a write: given back to the buffer unless written, after a failed
/// write and after one given up (the flusher is aborted at a stop, mid-write: the stop's last
/// flush then writes them, as the README promises).
struct Unwritten<'a>(&'a Pings, Option<PendingPings>);

impl Unwritten<'_> {
    fn pending(&self) -> &PendingPings {
        self.1.as_ref().expect("pending until written")
    }

    /// Written: how many agents' heartbeats.
    fn written(&mut self) -> usize {
        self.1.take().map_or(0, |p| p.agents.len())
    }
}

impl Drop for Unwritten<'_> {
    fn drop(&mut self) {
        if let Some(pending) = self.1.take() {
            self.0.restore(pending);
        }
    }
}

/// How long a registered ssid may be, in characters: room for 128 random bits even as hex,
/// and no more than a sane header's worth.
const SSID_CHARS: std::ops::RangeInclusive<usize> = 32..=256;

/// A registered ssid is [`SSID_CHARS`] long, of `[A-Za-z0-9_-]` only (what the upstream
/// routes read back unchanged from JSON, a form or a query string).
fn check_ssid(ssid: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if SSID_CHARS.contains(&ssid.len()) && ssid.chars().all(allowed) {
        Ok(())
    } else {
        Err(ServiceError::BadSsid)
    }
}
