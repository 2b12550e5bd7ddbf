//! Agents: created, listed, updated, disabled and enabled.

use async_trait::async_trait;
use serde_json::json;

use super::Result;
use super::accounts::ACCOUNT_COLUMNS;
use super::breaks::BREAK_COLUMNS;
use super::breaks::close_break;
use super::sql::{Backend, Sql, SqlStore, Tx, close_expired_wraps};
use super::wraps::{WRAP_COLUMNS, close_wrap};
use crate::domain::{Account, Act, Agent, EventKind, MicPerm, WrapMode};
use crate::live::LiveAgent;

/// A new agent; without overrides the account's wrap-up policy applies.
#[derive(Debug, Clone, Default)]
pub struct NewAgent {
    pub agent_id: String,
    pub name: String,
    pub wrap_seconds: Option<i64>,
    pub wrap_mode: Option<WrapMode>,
}

/// A partial update; `Some(None)` clears an override so the account's policy applies.
#[derive(Debug, Clone, Default)]
pub struct AgentUpdate {
    pub name: Option<String>,
    pub wrap_seconds: Option<Option<i64>>,
    pub wrap_mode: Option<Option<WrapMode>>,
}

#[async_trait]
pub trait Agents: Send + Sync {
    /// `Conflict` when the account has an agent of this id.
    async fn create_agent(&self, account_pk: i64, new: &NewAgent, now: i64) -> Result<Agent>;
    async fn agent(&self, account_pk: i64, agent_id: &str) -> Result<Option<Agent>>;
    /// Agents in creation order, after the agent with internal id `after`.
    async fn list_agents(&self, account_pk: i64, after: i64, limit: i64) -> Result<Vec<Agent>>;
    async fn update_agent(&self, agent_pk: i64, update: &AgentUpdate) -> Result<Agent>;
    /// Disabling logs the agent out and ends their break and wrap-up, all in one transaction.
    async fn set_agent_disabled(&self, agent: &Agent, disabled: bool, act: Act) -> Result<Agent>;
    /// An agent's state for the live view: its row and account, microphone, open break
    /// and unended wrap-up.
    async fn live_agent(&self, agent_pk: i64) -> Result<Option<(LiveAgent, Account)>>;
}

/// `Agent`'s columns.
pub(super) const AGENT_COLUMNS: &str =
    "id, account_pk, agent_id, name, wrap_seconds, wrap_mode, disabled";

/// An agent with its account, in one row.
#[derive(sqlx::FromRow)]
pub struct AgentRow {
    #[sqlx(flatten)]
    agent: Agent,
    #[sqlx(flatten)]
    account: Account,
    mic_perm: Option<MicPerm>,
}

#[async_trait]
impl<DB: Backend> Agents for SqlStore<DB> {
    async fn create_agent(&self, account_pk: i64, new: &NewAgent, now: i64) -> Result<Agent> {
        let sql = format!(
            "INSERT INTO agents (account_pk, agent_id, name, wrap_seconds, wrap_mode, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {AGENT_COLUMNS}"
        );
        Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(new.agent_id.as_str())
            .bind(new.name.as_str())
            .bind(new.wrap_seconds)
            .bind(new.wrap_mode)
            .bind(now)
            .fetch_one(&mut *self.conn().await?)
            .await
    }

    async fn agent(&self, account_pk: i64, agent_id: &str) -> Result<Option<Agent>> {
        let sql =
            format!("SELECT {AGENT_COLUMNS} FROM agents WHERE account_pk = $1 AND agent_id = $2");
        Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(agent_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    async fn list_agents(&self, account_pk: i64, after: i64, limit: i64) -> Result<Vec<Agent>> {
        let sql = format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_pk = $1 AND id > $2
             ORDER BY id LIMIT $3"
        );
        Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *self.conn().await?)
            .await
    }

    async fn update_agent(&self, agent_pk: i64, update: &AgentUpdate) -> Result<Agent> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE agents SET name = COALESCE($2, name),
                wrap_seconds = CASE WHEN $3 THEN $4 ELSE wrap_seconds END,
                wrap_mode = CASE WHEN $5 THEN $6 ELSE wrap_mode END
             WHERE id = $1 RETURNING {AGENT_COLUMNS}"
        );
        let updated: Agent = Sql::<DB>::new(&sql)
            .bind(agent_pk)
            .bind(update.name.as_deref())
            .bind(update.wrap_seconds.is_some())
            .bind(update.wrap_seconds.flatten())
            .bind(update.wrap_mode.is_some())
            .bind(update.wrap_mode.flatten())
            .fetch_one(&mut *tx)
            .await?;
        tx.changed(updated.account_pk, Some(updated.id));
        tx.commit().await?;
        Ok(updated)
    }

    async fn live_agent(&self, agent_pk: i64) -> Result<Option<(LiveAgent, Account)>> {
        let mut conn = self.conn().await?;
        let sql = format!(
            "SELECT g.*, a.* FROM (SELECT {AGENT_COLUMNS}, mic_perm FROM agents WHERE id = $1) g
             JOIN (SELECT {ACCOUNT_COLUMNS} FROM accounts) a ON a.account_id = g.account_pk"
        );
        let found: Option<AgentRow> = Sql::<DB>::new(&sql)
            .bind(agent_pk)
            .fetch_optional(&mut conn)
            .await?;
        let Some(AgentRow {
            agent,
            account,
            mic_perm,
        }) = found
        else {
            return Ok(None);
        };
        let sql =
            format!("SELECT {BREAK_COLUMNS} FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL");
        let open_break = Sql::<DB>::new(&sql)
            .bind(agent_pk)
            .fetch_optional(&mut conn)
            .await?;
        let sql =
            format!("SELECT {WRAP_COLUMNS} FROM wrap_ups WHERE agent_pk = $1 AND ended_at IS NULL");
        let wrap = Sql::<DB>::new(&sql)
            .bind(agent_pk)
            .fetch_optional(&mut conn)
            .await?;
        let state = LiveAgent {
            agent,
            open_break: open_break.map(Box::new),
            wrap: wrap.map(Box::new),
            mic_perm,
        };
        Ok(Some((state, account)))
    }

    async fn set_agent_disabled(&self, agent: &Agent, disabled: bool, act: Act) -> Result<Agent> {
        let Act { actor, now } = act;
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE agents SET disabled = $2 WHERE id = $1 AND disabled <> $2
             RETURNING {AGENT_COLUMNS}"
        );
        let updated: Option<Agent> = Sql::<DB>::new(&sql)
            .bind(agent.id)
            .bind(disabled)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(updated) = updated else {
            return Ok(agent.clone()); // already so: nothing changes, nothing recorded
        };
        if disabled {
            end_everything::<DB>(&mut tx, agent, act).await?;
        }
        let kind = if disabled {
            EventKind::AgentDisabled
        } else {
            EventKind::AgentEnabled
        };
        tx.record_event(agent, kind, actor, now, json!({}));
        tx.commit().await?;
        Ok(updated)
    }
}

/// Inside the disable's transaction: ends the agent's sessions, break and wrap-up.
async fn end_everything<DB: Backend>(conn: &mut Tx<DB>, agent: &Agent, act: Act) -> Result<()> {
    let Act { actor, now } = act;
    let ended = Sql::<DB>::new(
        "UPDATE agent_sessions SET ended_at = $2 WHERE agent_pk = $1 AND ended_at IS NULL",
    )
    .bind(agent.id)
    .bind(now)
    .execute(conn)
    .await?;
    if ended > 0 {
        let details = json!({ "sessions": ended, "how": "disabled" });
        conn.record_event(agent, EventKind::Logout, actor, now, details);
    }
    if let Some(b) = close_break::<DB>(conn, agent.id, now).await? {
        let details = json!({ "reasonCode": b.reason_code, "how": "disabled" });
        let at = b.ended_at.unwrap_or(now);
        conn.record_event(agent, EventKind::BreakEnd, actor, at, details);
    }
    close_expired_wraps::<DB>(conn, agent.account_pk, Some(agent.id), now).await?;
    if let Some(w) = close_wrap::<DB>(conn, agent.id, now).await? {
        let details = json!({ "callId": w.call_id, "how": "disabled" });
        let at = w.ended_at.unwrap_or(now);
        conn.record_event(agent, EventKind::WrapEnd, actor, at, details);
    }
    Ok(())
}
