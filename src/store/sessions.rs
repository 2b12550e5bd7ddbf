//! Login sessions (the upstream `ssid`) and the pings that keep them alive.

use async_trait::async_trait;

use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use super::tx::{AgentRef, Tx};
use super::{Result, StoreError};
use crate::domain::{
    Account, Act, Actor, Agent, EventDetails, NewSession, Ping, Session, SessionContext,
};

#[async_trait]
pub trait Sessions: Send + Sync {
    /// Logs the agent in with this ssid hash; returns the session's id. `Conflict` when the
    /// hash is already a session's (the unique index decides, also under concurrency).
    async fn create_session(&self, agent: &Agent, new: &NewSession, act: Act) -> Result<i64>;
    /// The session of this ssid hash, live or not: liveness is the caller's rule.
    async fn session(&self, ssid_hash: &str) -> Result<Option<SessionContext>>;
    /// Logs one session of an agent of this account out; false when there was none open.
    async fn end_session(&self, account_pk: i64, ssid_hash: &str, act: Act) -> Result<bool>;
    /// Logs every open session of the agent out; returns how many.
    async fn end_agent_sessions(&self, agent: &Agent, act: Act) -> Result<u64>;
    /// Records a heartbeat on the agent and refreshes the session it came through;
    /// a change of microphone permission is an event.
    async fn record_ping(&self, agent: &Agent, ping: Ping, actor: Actor) -> Result<()>;
}

/// The session of the ssid hash `$1`, with its agent and account, as [`SessionRow`] reads
/// them: columns named apart (see `ACCOUNT_COLUMNS`); the agent's `account_pk` is the
/// account's primary key too.
const SESSION_BY_HASH: &str =
    "SELECT s.id AS session_id, s.agent_pk, s.last_seen_at, s.expires_at, s.ended_at,
        g.id, g.account_pk, g.agent_id, g.name, g.wrap_seconds, g.wrap_mode, g.disabled,
        a.user_id, a.name AS account_name, a.suspended,
        a.wrap_seconds AS account_wrap_seconds, a.wrap_mode AS account_wrap_mode,
        a.time_zone AS account_time_zone
     FROM agent_sessions s
     JOIN agents g ON g.id = s.agent_pk
     JOIN accounts a ON a.id = g.account_pk
     WHERE s.ssid_hash = $1";

/// A session with its agent and account, in one row.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    session: Session,
    #[sqlx(flatten)]
    agent: Agent,
    #[sqlx(flatten)]
    account: Account,
}

#[async_trait]
impl<DB: Backend> Sessions for SqlStore<DB> {
    async fn create_session(&self, agent: &Agent, new: &NewSession, act: Act) -> Result<i64> {
        let Act { actor, now } = act;
        let mut tx = self.begin_on_agent(agent.id).await?;
        let (id,): (i64,) = Sql::<DB>::new(
            "INSERT INTO agent_sessions (agent_pk, ssid_hash, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $3, $4) RETURNING id",
        )
        .bind(agent.id)
        .bind(new.ssid_hash.as_str())
        .bind(now)
        .bind(new.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let details = EventDetails::Login {
            session: id,
            expires_at: new.expires_at,
            registered: new.registered,
        };
        tx.record_event(agent, details, actor, now);
        tx.commit().await?;
        Ok(id)
    }

    async fn session(&self, ssid_hash: &str) -> Result<Option<SessionContext>> {
        let row: Option<SessionRow> = Sql::<DB>::new(SESSION_BY_HASH)
            .bind(ssid_hash)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(|r| SessionContext {
            session: r.session,
            agent: r.agent.into(),
            account: r.account.into(),
        }))
    }

    async fn end_session(&self, account_pk: i64, ssid_hash: &str, act: Act) -> Result<bool> {
        let Act { actor, now } = act;
        let mut tx = self.begin().await?;
        let ended: Option<(i64, i64)> = Sql::<DB>::new(
            "UPDATE agent_sessions SET ended_at = $3
             WHERE ssid_hash = $2 AND ended_at IS NULL
               AND agent_pk IN (SELECT id FROM agents WHERE account_pk = $1)
             RETURNING id, agent_pk",
        )
        .bind(account_pk)
        .bind(ssid_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session_pk, agent_pk)) = ended else {
            return Ok(false);
        };
        let agent = AgentRef {
            account_pk,
            agent_pk,
        };
        let details = EventDetails::Logout {
            session: Some(session_pk),
            sessions: 1,
            disabled: false,
        };
        tx.record_event(agent, details, actor, now);
        tx.commit().await?;
        Ok(true)
    }

    async fn end_agent_sessions(&self, agent: &Agent, act: Act) -> Result<u64> {
        let mut tx = self.begin().await?;
        let ended = log_out_agent::<DB>(&mut tx, agent, act, false).await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn record_ping(&self, agent: &Agent, ping: Ping, actor: Actor) -> Result<()> {
        let mut tx = self.begin().await?;
        // Refused (and nothing recorded) when a disable or logout committed first.
        let pinged = Sql::<DB>::new(
            "UPDATE agents SET last_ping_at = $2, client_ping_time = $3
             WHERE id = $1 AND NOT disabled",
        )
        .bind(agent.id)
        .bind(ping.received_at)
        .bind(ping.client_time)
        .execute(&mut tx)
        .await?;
        if pinged == 0 {
            return Err(StoreError::AgentDisabled);
        }
        if let Some(session_pk) = ping.session_pk {
            let refreshed = Sql::<DB>::new(
                "UPDATE agent_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL",
            )
            .bind(session_pk)
            .bind(ping.received_at)
            .execute(&mut tx)
            .await?;
            if refreshed == 0 {
                return Err(StoreError::SessionEnded);
            }
        }
        // Changed only when different: the row lock makes the event exactly-once.
        let changed = Sql::<DB>::new(
            "UPDATE agents SET mic_perm = $2 WHERE id = $1 AND mic_perm IS DISTINCT FROM $2",
        )
        .bind(agent.id)
        .bind(ping.mic_perm)
        .execute(&mut tx)
        .await?;
        if changed == 1 {
            let details = EventDetails::MicChange {
                mic_perm: ping.mic_perm,
            };
            tx.record_event(agent, details, actor, ping.received_at);
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Inside a transaction: logs every open session of the agent out, recording one `logout`
/// (`disabled`: the agent's disabling does it); returns how many.
pub(super) async fn log_out_agent<DB: Backend>(
    tx: &mut Tx<DB>,
    agent: &Agent,
    act: Act,
    disabled: bool,
) -> Result<u64> {
    let Act { actor, now } = act;
    let ended = Sql::<DB>::new(
        "UPDATE agent_sessions SET ended_at = $2 WHERE agent_pk = $1 AND ended_at IS NULL",
    )
    .bind(agent.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if ended > 0 {
        let details = EventDetails::Logout {
            session: None,
            sessions: ended,
            disabled,
        };
        tx.record_event(agent, details, actor, now);
    }
    Ok(ended)
}
