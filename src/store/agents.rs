//! Agents, their login sessions and their presence (pings).

use async_trait::async_trait;

use super::{Ping, Result};
use crate::domain::{Account, Actor, Agent, Session, SessionContext, WrapMode};

/// A partial update; `Some(None)` clears an override so the account's policy applies.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub wrap_seconds: Option<Option<i64>>,
    pub wrap_mode: Option<Option<WrapMode>>,
}

#[async_trait]
pub trait Agents: Send + Sync {
    async fn create_agent(
        &self,
        account_pk: i64,
        agent_id: &str,
        name: &str,
        wrap_seconds: Option<i64>,
        wrap_mode: Option<WrapMode>,
        now: i64,
    ) -> Result<Agent>;
    async fn agent(&self, account_pk: i64, agent_id: &str) -> Result<Option<Agent>>;
    /// Agents in creation order, after the agent with internal id `after`.
    async fn list_agents(&self, account_pk: i64, after: i64, limit: i64) -> Result<Vec<Agent>>;
    async fn update_agent(&self, agent_pk: i64, update: &AgentUpdate) -> Result<Agent>;
    /// Disabling logs the agent out and ends their break and wrap-up, all in one transaction.
    async fn set_agent_disabled(
        &self,
        agent: &Agent,
        disabled: bool,
        actor: Actor,
        now: i64,
    ) -> Result<Agent>;

    /// Logs the agent in; returns the session's id.
    async fn create_session(
        &self,
        agent: &Agent,
        ssid_hash: &str,
        now: i64,
        expires_at: i64,
        actor: Actor,
    ) -> Result<i64>;
    /// The session of this ssid hash, live or not: liveness is the caller's rule.
    async fn session(&self, ssid_hash: &str) -> Result<Option<SessionContext>>;
    /// Logs one session of an agent of this account out; false when there was none open.
    async fn end_session(
        &self,
        account_pk: i64,
        ssid_hash: &str,
        actor: Actor,
        now: i64,
    ) -> Result<bool>;
    /// Logs every open session of the agent out; returns how many.
    async fn end_agent_sessions(&self, agent: &Agent, actor: Actor, now: i64) -> Result<u64>;
    /// Records a heartbeat on the agent and refreshes the session it came through;
    /// a change of microphone permission is an event.
    async fn record_ping(
        &self,
        agent: &Agent,
        session_pk: Option<i64>,
        ping: Ping,
        actor: Actor,
    ) -> Result<()>;
}

pub(super) const AGENT_COLUMNS: &str =
    "id, account_pk, agent_id, name, wrap_seconds, wrap_mode, disabled";

/// Flat row of the session lookup (session, agent and account joined).
#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    session_id: i64,
    last_seen_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
    #[sqlx(flatten)]
    agent: Agent,
    user_id: String,
    account_name: String,
    suspended: bool,
    account_wrap_seconds: i64,
    account_wrap_mode: String,
}

impl From<SessionRow> for SessionContext {
    fn from(r: SessionRow) -> Self {
        SessionContext {
            session: Session {
                id: r.session_id,
                agent_pk: r.agent.id,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                ended_at: r.ended_at,
            },
            account: Account {
                id: r.agent.account_pk,
                user_id: r.user_id,
                name: r.account_name,
                suspended: r.suspended,
                wrap_seconds: r.account_wrap_seconds,
                wrap_mode: r.account_wrap_mode,
            },
            agent: r.agent,
        }
    }
}

/// Inside a transaction: locks the agent's row until the end of the transaction and makes
/// sure it is not disabled. A concurrent disable then either commits first (and this write
/// is refused) or waits for this write (and ends what it opened). The no-op UPDATE takes
/// the row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers already.
macro_rules! lock_enabled_agent {
    ($tx:expr, $agent_pk:expr) => {{
        let locked =
            sqlx::query("UPDATE agents SET disabled = disabled WHERE id = $1 AND NOT disabled")
                .bind($agent_pk)
                .execute(&mut *$tx)
                .await?
                .rows_affected();
        if locked == 0 {
            return Err($crate::store::StoreError::AgentDisabled);
        }
    }};
}

macro_rules! impl_agents {
    ($store:ty, $db:ty, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Agents for $store {
            async fn create_agent(
                &self,
                account_pk: i64,
                agent_id: &str,
                name: &str,
                wrap_seconds: Option<i64>,
                wrap_mode: Option<$crate::domain::WrapMode>,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Agent> {
                Ok(sqlx::query_as(&format!(
                    "INSERT INTO agents (account_pk, agent_id, name, wrap_seconds, wrap_mode, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                    $crate::store::agents::AGENT_COLUMNS
                ))
                .bind(account_pk)
                .bind(agent_id)
                .bind(name)
                .bind(wrap_seconds)
                .bind(wrap_mode.map(|m| m.as_str()))
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn agent(
                &self,
                account_pk: i64,
                agent_id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::Agent>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM agents WHERE account_pk = $1 AND agent_id = $2",
                    $crate::store::agents::AGENT_COLUMNS
                ))
                .bind(account_pk)
                .bind(agent_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn list_agents(
                &self,
                account_pk: i64,
                after: i64,
                limit: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::Agent>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM agents WHERE account_pk = $1 AND id > $2 ORDER BY id LIMIT $3",
                    $crate::store::agents::AGENT_COLUMNS
                ))
                .bind(account_pk)
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn update_agent(
                &self,
                agent_pk: i64,
                update: &$crate::store::AgentUpdate,
            ) -> $crate::store::Result<$crate::domain::Agent> {
                Ok(sqlx::query_as(&format!(
                    "UPDATE agents SET name = COALESCE($2, name),
                        wrap_seconds = CASE WHEN $3 THEN $4 ELSE wrap_seconds END,
                        wrap_mode = CASE WHEN $5 THEN $6 ELSE wrap_mode END
                     WHERE id = $1 RETURNING {}",
                    $crate::store::agents::AGENT_COLUMNS
                ))
                .bind(agent_pk)
                .bind(update.name.as_deref())
                .bind(update.wrap_seconds.is_some())
                .bind(update.wrap_seconds.flatten())
                .bind(update.wrap_mode.is_some())
                .bind(update.wrap_mode.flatten().map(|m| m.as_str()))
                .fetch_one(&self.pool)
                .await?)
            }

            async fn set_agent_disabled(
                &self,
                agent: &$crate::domain::Agent,
                disabled: bool,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Agent> {
                use $crate::domain::EventKind;
                let mut tx = self.pool.begin_with($begin).await?;
                let updated: Option<$crate::domain::Agent> = sqlx::query_as(&format!(
                    "UPDATE agents SET disabled = $2 WHERE id = $1 AND disabled <> $2 RETURNING {}",
                    $crate::store::agents::AGENT_COLUMNS
                ))
                .bind(agent.id)
                .bind(disabled)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(updated) = updated else {
                    return Ok(agent.clone()); // already so: nothing changes, nothing recorded
                };
                if disabled {
                    let ended = sqlx::query(
                        "UPDATE agent_sessions SET ended_at = $2 WHERE agent_pk = $1 AND ended_at IS NULL",
                    )
                    .bind(agent.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if ended > 0 {
                        record_event!(tx, agent, EventKind::Logout, actor, now,
                            serde_json::json!({ "sessions": ended, "how": "disabled" }))?;
                    }
                    let closed: Option<(String, i64)> = sqlx::query_as(&format!(
                        "UPDATE breaks SET ended_at = {} WHERE agent_pk = $1 AND ended_at IS NULL
                         RETURNING reason_code, ended_at",
                        $crate::store::states::ENDED_AT
                    ))
                    .bind(agent.id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((code, ended_at)) = closed {
                        record_event!(tx, agent, EventKind::BreakEnd, actor, ended_at,
                            serde_json::json!({ "reasonCode": code, "how": "disabled" }))?;
                    }
                    close_expired_wraps!(tx, agent.account_pk, Some(agent.id), now);
                    let wrap: Option<(String, i64)> = sqlx::query_as(&format!(
                        "UPDATE wrap_ups SET ended_at = {} WHERE agent_pk = $1 AND ended_at IS NULL
                         RETURNING call_id, ended_at",
                        $crate::store::states::ENDED_AT
                    ))
                    .bind(agent.id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if let Some((call_id, ended_at)) = wrap {
                        record_event!(tx, agent, EventKind::WrapEnd, actor, ended_at,
                            serde_json::json!({ "callId": call_id, "how": "disabled" }))?;
                    }
                }
                let kind = if disabled { EventKind::AgentDisabled } else { EventKind::AgentEnabled };
                record_event!(tx, agent, kind, actor, now, serde_json::json!({}))?;
                tx.commit().await?;
                Ok(updated)
            }

            async fn create_session(
                &self,
                agent: &$crate::domain::Agent,
                ssid_hash: &str,
                now: i64,
                expires_at: i64,
                actor: $crate::domain::Actor,
            ) -> $crate::store::Result<i64> {
                let mut tx = self.pool.begin_with($begin).await?;
                lock_enabled_agent!(tx, agent.id);
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO agent_sessions (agent_pk, ssid_hash, created_at, last_seen_at, expires_at)
                     VALUES ($1, $2, $3, $3, $4) RETURNING id",
                )
                .bind(agent.id)
                .bind(ssid_hash)
                .bind(now)
                .bind(expires_at)
                .fetch_one(&mut *tx)
                .await?;
                record_event!(tx, agent, $crate::domain::EventKind::Login, actor, now,
                    serde_json::json!({ "session": id, "expiresAt": expires_at }))?;
                tx.commit().await?;
                Ok(id)
            }

            async fn session(
                &self,
                ssid_hash: &str,
            ) -> $crate::store::Result<Option<$crate::domain::SessionContext>> {
                let row: Option<$crate::store::agents::SessionRow> = sqlx::query_as(
                    "SELECT s.id AS session_id, s.last_seen_at, s.expires_at, s.ended_at,
                            g.id, g.account_pk, g.agent_id, g.name, g.wrap_seconds, g.wrap_mode, g.disabled,
                            a.user_id, a.name AS account_name, a.suspended,
                            a.wrap_seconds AS account_wrap_seconds, a.wrap_mode AS account_wrap_mode
                     FROM agent_sessions s
                     JOIN agents g ON g.id = s.agent_pk
                     JOIN accounts a ON a.id = g.account_pk
                     WHERE s.ssid_hash = $1",
                )
                .bind(ssid_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn end_session(
                &self,
                account_pk: i64,
                ssid_hash: &str,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<bool> {
                let mut tx = self.pool.begin_with($begin).await?;
                let ended: Option<(i64, i64)> = sqlx::query_as(
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
                let agent = $crate::store::history::AgentRef { id: agent_pk, account_pk };
                record_event!(tx, agent, $crate::domain::EventKind::Logout, actor, now,
                    serde_json::json!({ "session": session_pk, "sessions": 1 }))?;
                tx.commit().await?;
                Ok(true)
            }

            async fn end_agent_sessions(
                &self,
                agent: &$crate::domain::Agent,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<u64> {
                let mut tx = self.pool.begin_with($begin).await?;
                let ended = sqlx::query(
                    "UPDATE agent_sessions SET ended_at = $2 WHERE agent_pk = $1 AND ended_at IS NULL",
                )
                .bind(agent.id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if ended > 0 {
                    record_event!(tx, agent, $crate::domain::EventKind::Logout, actor, now,
                        serde_json::json!({ "sessions": ended }))?;
                }
                tx.commit().await?;
                Ok(ended)
            }

            async fn record_ping(
                &self,
                agent: &$crate::domain::Agent,
                session_pk: Option<i64>,
                ping: $crate::store::Ping,
                actor: $crate::domain::Actor,
            ) -> $crate::store::Result<()> {
                let mut tx = self.pool.begin_with($begin).await?;
                // Refused (and nothing recorded) when a disable or logout committed first.
                let pinged = sqlx::query(
                    "UPDATE agents SET last_ping_at = $2, client_ping_time = $3
                     WHERE id = $1 AND NOT disabled",
                )
                .bind(agent.id)
                .bind(ping.received_at)
                .bind(ping.client_time)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if pinged == 0 {
                    return Err($crate::store::StoreError::AgentDisabled);
                }
                if let Some(session_pk) = session_pk {
                    let refreshed = sqlx::query(
                        "UPDATE agent_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL",
                    )
                    .bind(session_pk)
                    .bind(ping.received_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if refreshed == 0 {
                        return Err($crate::store::StoreError::SessionEnded);
                    }
                }
                // Changed only when different: the row lock makes the event exactly-once.
                let changed = sqlx::query(
                    "UPDATE agents SET mic_perm = $2 WHERE id = $1 AND mic_perm IS DISTINCT FROM $2",
                )
                .bind(agent.id)
                .bind(ping.mic_perm.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 1 {
                    record_event!(tx, agent, $crate::domain::EventKind::MicChange, actor,
                        ping.received_at, serde_json::json!({ "micPerm": ping.mic_perm.as_str() }))?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
