//! Agents: created, listed, updated, disabled and enabled.

use async_trait::async_trait;

use super::backend::{Backend, Sql};
use super::breaks::{OPEN_BREAK, close_break};
use super::calls::close_call;
use super::sessions::log_out_agent;
use super::sql::SqlStore;
use super::tx::Tx;
use super::wraps::{ExpiredOf, UNENDED_WRAP, close_expired_wraps, close_wrap};
use super::{Result, StoreError};
use crate::domain::{
    Account, Act, Agent, AgentPage, AgentUpdate, CallOutcome, Ending, EventDetails, MicPerm,
    NewAgent,
};
use crate::live::LiveAgent;

#[async_trait]
pub trait Agents: Send + Sync {
    /// `Conflict` when the account has an agent of this id.
    async fn create_agent(&self, account_pk: i64, new: &NewAgent, now: i64) -> Result<Agent>;
    async fn agent(&self, account_pk: i64, agent_id: &str) -> Result<Option<Agent>>;
    async fn list_agents(&self, page: AgentPage) -> Result<Vec<Agent>>;
    async fn update_agent(&self, agent_pk: i64, update: &AgentUpdate) -> Result<Agent>;
    /// Disabling logs the agent out and ends their call, break and wrap-up, all in one
    /// transaction.
    async fn set_agent_disabled(&self, agent: &Agent, disabled: bool, act: Act) -> Result<Agent>;
    /// An agent's state for the live view: its row and account, microphone, open break
    /// and unended wrap-up.
    async fn live_agent(&self, agent_pk: i64) -> Result<Option<(LiveAgent, Account)>>;
}

/// `Agent`'s columns, in the statements that read or return agents alone. Those that join
/// an agent with other rows name them too: `LIVE_AGENT`, `SESSION_BY_HASH`, the roster's.
const AGENT_COLUMNS: &str = "id, account_pk, agent_id, name, wrap_seconds, wrap_mode, disabled";

/// The agent `$1` with its microphone and its account, as [`AgentRow`] reads them: columns
/// named apart (see `ACCOUNT_COLUMNS`); the agent's `account_pk` is the account's too.
const LIVE_AGENT: &str =
    "SELECT g.id, g.account_pk, g.agent_id, g.name, g.wrap_seconds, g.wrap_mode, g.disabled,
        g.mic_perm, a.user_id, a.name AS account_name, a.suspended,
        a.wrap_seconds AS account_wrap_seconds, a.wrap_mode AS account_wrap_mode,
        a.time_zone AS account_time_zone
     FROM agents g JOIN accounts a ON a.id = g.account_pk
     WHERE g.id = $1";

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

    async fn list_agents(&self, page: AgentPage) -> Result<Vec<Agent>> {
        let sql = format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE account_pk = $1 AND id > $2
             ORDER BY id LIMIT $3"
        );
        Sql::<DB>::new(&sql)
            .bind(page.account_pk)
            .bind(page.after)
            .bind(page.limit)
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
        tx.agent_changed(&updated);
        tx.commit().await?;
        Ok(updated)
    }

    async fn live_agent(&self, agent_pk: i64) -> Result<Option<(LiveAgent, Account)>> {
        let mut conn = self.conn().await?;
        let found: Option<AgentRow> = Sql::<DB>::new(LIVE_AGENT)
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
        let open_break = Sql::<DB>::new(OPEN_BREAK)
            .bind(agent_pk)
            .fetch_optional(&mut conn)
            .await?;
        let wrap = Sql::<DB>::new(UNENDED_WRAP)
            .bind(agent_pk)
            .fetch_optional(&mut conn)
            .await?;
        let state = LiveAgent {
            agent: agent.into(),
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
        let details = if disabled {
            EventDetails::AgentDisabled
        } else {
            EventDetails::AgentEnabled
        };
        tx.record_event(agent, details, actor, now);
        tx.commit().await?;
        Ok(updated)
    }
}

/// Inside the disable's transaction: ends the agent's sessions, call, break and wrap-up.
async fn end_everything<DB: Backend>(conn: &mut Tx<DB>, agent: &Agent, act: Act) -> Result<()> {
    log_out_agent::<DB>(conn, agent, act, true).await?;
    close_call::<DB>(conn, agent, CallOutcome::Disabled, act).await?;
    close_break::<DB>(conn, agent, Ending::Disabled, act).await?;
    close_expired_wraps::<DB>(conn, ExpiredOf::Agent(agent.into()), act.now).await?;
    close_wrap::<DB>(conn, agent, Ending::Disabled, act).await?;
    Ok(())
}

/// Inside a transaction: locks the agent's row until the end of the transaction and makes
/// sure it is not disabled. A concurrent disable then either commits first (and this write
/// is refused) or waits for this write (and ends what it opened). SQLite's (PostgreSQL
/// sends its own function, `Backend::begin_on_agent`): BEGIN IMMEDIATE serialises writers
/// already, and the no-op UPDATE checks the agent.
pub(super) async fn lock_enabled_agent<DB: Backend>(
    conn: &mut DB::Connection,
    agent_pk: i64,
) -> Result<()> {
    let locked =
        Sql::<DB>::new("UPDATE agents SET disabled = disabled WHERE id = $1 AND NOT disabled")
            .bind(agent_pk)
            .execute(conn)
            .await?;
    if locked == 0 {
        return Err(StoreError::AgentDisabled);
    }
    Ok(())
}
