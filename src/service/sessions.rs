//! Logins, logouts and the heartbeat.

use super::agents::enabled;
use super::{Result, Service};
use crate::domain::{Account, Act, Actor, Agent, SessionContext};
use crate::secrets;
use crate::store::{NewSession, Ping};

impl Service {
    /// Logs the agent in; returns the new ssid (only its hash is kept) and when it expires.
    pub async fn login(&self, agent: &Agent, act: Act) -> Result<(String, i64)> {
        let now = act.now;
        enabled(agent)?;
        let ssid = secrets::new_ssid();
        let expires_at = now + self.config.session_max_age_secs;
        let new = NewSession {
            ssid_hash: secrets::hash(&ssid),
            expires_at,
        };
        self.store.create_session(agent, &new, act).await?;
        Ok((ssid, expires_at))
    }

    /// What an ssid resolves to, if it is live at `now` and its agent is enabled.
    pub async fn live_session(&self, ssid: &str, now: i64) -> Result<Option<SessionContext>> {
        let found = self.store.session(&secrets::hash(ssid)).await?;
        let idle = self.config.session_idle_timeout_secs;
        // A disabled agent's sessions were ended; an old ssid of theirs is just invalid.
        Ok(found
            .filter(|c| c.session.is_live(now, idle))
            .filter(|c| !c.agent.disabled))
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

    /// Records a heartbeat through a session or a token.
    pub async fn record_ping(&self, agent: &Agent, ping: Ping, actor: Actor) -> Result<()> {
        Ok(self.store.record_ping(agent, ping, actor).await?)
    }
}
