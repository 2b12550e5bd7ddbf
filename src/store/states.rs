//! Break reasons, breaks, wrap-ups, and the roster that shows them all at once.

use async_trait::async_trait;

use super::Result;
use crate::domain::{Actor, Agent, Break, BreakReason, WrapMode, WrapUp};

/// A partial update of a break reason; `limit_seconds: Some(None)` removes the limit.
#[derive(Debug, Clone, Default)]
pub struct ReasonUpdate {
    pub label: Option<String>,
    pub limit_seconds: Option<Option<i64>>,
    pub active: Option<bool>,
}

#[async_trait]
pub trait States: Send + Sync {
    async fn reasons(&self, account_pk: i64) -> Result<Vec<BreakReason>>;
    /// The account's reason whose code (preferred) or label matches, ignoring case.
    async fn reason(&self, account_pk: i64, code_or_label: &str) -> Result<Option<BreakReason>>;
    /// `Conflict` when the code is taken.
    async fn create_reason(
        &self,
        account_pk: i64,
        code: &str,
        label: &str,
        limit_seconds: Option<i64>,
        now: i64,
    ) -> Result<BreakReason>;
    async fn update_reason(
        &self,
        account_pk: i64,
        code: &str,
        update: &ReasonUpdate,
    ) -> Result<Option<BreakReason>>;

    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>>;
    /// `Conflict` when the agent already has an open break.
    async fn start_break(
        &self,
        agent: &Agent,
        reason: &BreakReason,
        actor: Actor,
        now: i64,
    ) -> Result<Break>;
    /// Ends the open break, if any, and returns it.
    async fn end_break(&self, agent: &Agent, actor: Actor, now: i64) -> Result<Option<Break>>;

    /// The agent's wrap-up that is still running at `now`.
    async fn active_wrap_up(&self, agent_pk: i64, now: i64) -> Result<Option<WrapUp>>;
    /// `Conflict` when a wrap-up is still running; one that ran out is closed first.
    #[allow(clippy::too_many_arguments)]
    async fn start_wrap_up(
        &self,
        agent: &Agent,
        call_id: &str,
        customer_number: &str,
        mode: WrapMode,
        ends_at: Option<i64>,
        actor: Actor,
        now: i64,
    ) -> Result<WrapUp>;
    /// Ends the running wrap-up, if any, and returns it.
    async fn end_wrap_up(&self, agent: &Agent, actor: Actor, now: i64) -> Result<Option<WrapUp>>;

    /// Every agent of the account with its current state, in agent id order.
    async fn roster(
        &self,
        account_pk: i64,
        now: i64,
        idle_timeout_secs: i64,
    ) -> Result<Vec<RosterRow>>;

    /// How many agents are logged in, on break and in wrap-up at `now`, in all and (when there
    /// are at most `max_accounts` accounts) per account: read-only, for the metrics.
    async fn state_counts(
        &self,
        now: i64,
        idle_timeout_secs: i64,
        max_accounts: i64,
    ) -> Result<StateCounts>;
}

/// `ended_at` for an end at `$2`, never before the start: a start that committed in
/// between may carry a later second than the end request read its clock.
pub(super) const ENDED_AT: &str = "CASE WHEN $2 < started_at THEN started_at ELSE $2 END";

pub(super) const REASON_COLUMNS: &str = "id, code, label, limit_seconds, active";
pub(super) const BREAK_COLUMNS: &str = "reason_code, reason, limit_seconds, started_at, ended_at";
pub(super) const WRAP_COLUMNS: &str =
    "call_id, customer_number, mode, started_at, ends_at, ended_at";

/// One row per agent with its account and a 1 or 0 for each state at `$1` (now): logged in
/// (a session neither ended, expired nor idle since `$2`), on break (an open break), in
/// wrap-up (an open wrap-up that has not run out). Each test is one indexed lookup.
pub(super) const AGENT_STATE_FLAGS: &str = "SELECT g.account_pk,
        CASE WHEN EXISTS (SELECT 1 FROM agent_sessions s
                          WHERE s.agent_pk = g.id AND s.ended_at IS NULL
                            AND s.expires_at > $1 AND s.last_seen_at > $2)
             THEN 1 ELSE 0 END AS logged_in,
        CASE WHEN EXISTS (SELECT 1 FROM breaks b
                          WHERE b.agent_pk = g.id AND b.ended_at IS NULL)
             THEN 1 ELSE 0 END AS on_break,
        CASE WHEN EXISTS (SELECT 1 FROM wrap_ups w
                          WHERE w.agent_pk = g.id AND w.ended_at IS NULL
                            AND (w.ends_at IS NULL OR w.ends_at > $1))
             THEN 1 ELSE 0 END AS in_wrap_up
     FROM agents g";

/// How many agents are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AgentCounts {
    pub logged_in: i64,
    pub on_break: i64,
    pub in_wrap_up: i64,
}

impl std::ops::AddAssign for AgentCounts {
    fn add_assign(&mut self, other: AgentCounts) {
        self.logged_in += other.logged_in;
        self.on_break += other.on_break;
        self.in_wrap_up += other.in_wrap_up;
    }
}

/// One account's counts, named by its `user_id`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountCounts {
    pub user_id: String,
    #[sqlx(flatten)]
    pub counts: AgentCounts,
}

/// The counts of every agent, and per account unless there were too many accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    pub total: AgentCounts,
    /// Every account (those with no agent too), or None above `max_accounts` accounts.
    pub accounts: Option<Vec<AccountCounts>>,
}

/// One agent's line of the roster, as the database gives it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RosterRow {
    pub agent_id: String,
    pub name: String,
    pub disabled: bool,
    pub live_sessions: i64,
    pub last_ping_at: Option<i64>,
    pub mic_perm: Option<String>,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub limit_seconds: Option<i64>,
    pub break_started_at: Option<i64>,
    pub call_id: Option<String>,
    pub customer_number: Option<String>,
    pub wrap_mode: Option<String>,
    pub wrap_started_at: Option<i64>,
    pub wrap_ends_at: Option<i64>,
}

macro_rules! impl_states {
    ($store:ty, $db:ty, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::States for $store {
            async fn reasons(
                &self,
                account_pk: i64,
            ) -> $crate::store::Result<Vec<$crate::domain::BreakReason>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM break_reasons WHERE account_pk = $1 ORDER BY id",
                    $crate::store::states::REASON_COLUMNS
                ))
                .bind(account_pk)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn reason(
                &self,
                account_pk: i64,
                code_or_label: &str,
            ) -> $crate::store::Result<Option<$crate::domain::BreakReason>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM break_reasons
                     WHERE account_pk = $1 AND (LOWER(code) = LOWER($2) OR LOWER(label) = LOWER($2))
                     ORDER BY CASE WHEN LOWER(code) = LOWER($2) THEN 0 ELSE 1 END, id LIMIT 1",
                    $crate::store::states::REASON_COLUMNS
                ))
                .bind(account_pk)
                .bind(code_or_label)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create_reason(
                &self,
                account_pk: i64,
                code: &str,
                label: &str,
                limit_seconds: Option<i64>,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::BreakReason> {
                Ok(sqlx::query_as(&format!(
                    "INSERT INTO break_reasons (account_pk, code, label, limit_seconds, created_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING {}",
                    $crate::store::states::REASON_COLUMNS
                ))
                .bind(account_pk)
                .bind(code)
                .bind(label)
                .bind(limit_seconds)
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn update_reason(
                &self,
                account_pk: i64,
                code: &str,
                update: &$crate::store::states::ReasonUpdate,
            ) -> $crate::store::Result<Option<$crate::domain::BreakReason>> {
                Ok(sqlx::query_as(&format!(
                    "UPDATE break_reasons SET label = COALESCE($3, label),
                        limit_seconds = CASE WHEN $4 THEN $5 ELSE limit_seconds END,
                        active = COALESCE($6, active)
                     WHERE account_pk = $1 AND code = $2 RETURNING {}",
                    $crate::store::states::REASON_COLUMNS
                ))
                .bind(account_pk)
                .bind(code)
                .bind(update.label.as_deref())
                .bind(update.limit_seconds.is_some())
                .bind(update.limit_seconds.flatten())
                .bind(update.active)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn open_break(
                &self,
                agent_pk: i64,
            ) -> $crate::store::Result<Option<$crate::domain::Break>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL",
                    $crate::store::states::BREAK_COLUMNS
                ))
                .bind(agent_pk)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn start_break(
                &self,
                agent: &$crate::domain::Agent,
                reason: &$crate::domain::BreakReason,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Break> {
                let mut tx = self.pool.begin_with($begin).await?;
                lock_enabled_agent!(tx, agent.id);
                // The partial unique index refuses a second open break: `Conflict`.
                let started: $crate::domain::Break = sqlx::query_as(&format!(
                    "INSERT INTO breaks (agent_pk, reason_pk, reason_code, reason, limit_seconds, started_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                    $crate::store::states::BREAK_COLUMNS
                ))
                .bind(agent.id)
                .bind(reason.id)
                .bind(&reason.code)
                .bind(&reason.label)
                .bind(reason.limit_seconds)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                record_event!(tx, agent, $crate::domain::EventKind::BreakStart, actor, now,
                    serde_json::json!({ "reasonCode": reason.code, "reason": reason.label,
                                        "limit": reason.limit_seconds }))?;
                tx.commit().await?;
                Ok(started)
            }

            async fn end_break(
                &self,
                agent: &$crate::domain::Agent,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<Option<$crate::domain::Break>> {
                let mut tx = self.pool.begin_with($begin).await?;
                let ended: Option<$crate::domain::Break> = sqlx::query_as(&format!(
                    "UPDATE breaks SET ended_at = {} WHERE agent_pk = $1 AND ended_at IS NULL
                     RETURNING {}",
                    $crate::store::states::ENDED_AT,
                    $crate::store::states::BREAK_COLUMNS
                ))
                .bind(agent.id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(b) = &ended {
                    let elapsed = b.elapsed(now);
                    record_event!(tx, agent, $crate::domain::EventKind::BreakEnd, actor, b.ended_at.unwrap_or(now),
                        serde_json::json!({ "reasonCode": b.reason_code, "duration": elapsed,
                            "overLimit": b.limit_seconds.is_some_and(|l| elapsed > l) }))?;
                }
                tx.commit().await?;
                Ok(ended)
            }

            async fn active_wrap_up(
                &self,
                agent_pk: i64,
                now: i64,
            ) -> $crate::store::Result<Option<$crate::domain::WrapUp>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM wrap_ups
                     WHERE agent_pk = $1 AND ended_at IS NULL AND (ends_at IS NULL OR ends_at > $2)",
                    $crate::store::states::WRAP_COLUMNS
                ))
                .bind(agent_pk)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn start_wrap_up(
                &self,
                agent: &$crate::domain::Agent,
                call_id: &str,
                customer_number: &str,
                mode: $crate::domain::WrapMode,
                ends_at: Option<i64>,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::WrapUp> {
                let mut tx = self.pool.begin_with($begin).await?;
                lock_enabled_agent!(tx, agent.id);
                close_expired_wraps!(tx, agent.account_pk, Some(agent.id), now);
                let wrap: $crate::domain::WrapUp = sqlx::query_as(&format!(
                    "INSERT INTO wrap_ups (agent_pk, call_id, customer_number, mode, started_at, ends_at)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {}",
                    $crate::store::states::WRAP_COLUMNS
                ))
                .bind(agent.id)
                .bind(call_id)
                .bind(customer_number)
                .bind(mode.as_str())
                .bind(now)
                .bind(ends_at)
                .fetch_one(&mut *tx)
                .await?;
                record_event!(tx, agent, $crate::domain::EventKind::WrapStart, actor, now,
                    serde_json::json!({ "callId": call_id, "cNumber": customer_number,
                                        "mode": mode.as_str(), "endsAt": ends_at }))?;
                tx.commit().await?;
                Ok(wrap)
            }

            async fn end_wrap_up(
                &self,
                agent: &$crate::domain::Agent,
                actor: $crate::domain::Actor,
                now: i64,
            ) -> $crate::store::Result<Option<$crate::domain::WrapUp>> {
                let mut tx = self.pool.begin_with($begin).await?;
                // One that already ran out is recorded as ended at its own time, not now.
                close_expired_wraps!(tx, agent.account_pk, Some(agent.id), now);
                let ended: Option<$crate::domain::WrapUp> = sqlx::query_as(&format!(
                    "UPDATE wrap_ups SET ended_at = {} WHERE agent_pk = $1 AND ended_at IS NULL
                     RETURNING {}",
                    $crate::store::states::ENDED_AT,
                    $crate::store::states::WRAP_COLUMNS
                ))
                .bind(agent.id)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(w) = &ended {
                    record_event!(tx, agent, $crate::domain::EventKind::WrapEnd, actor, w.ended_at.unwrap_or(now),
                        serde_json::json!({ "callId": w.call_id, "how": "ended" }))?;
                }
                tx.commit().await?;
                Ok(ended)
            }

            async fn roster(
                &self,
                account_pk: i64,
                now: i64,
                idle_timeout_secs: i64,
            ) -> $crate::store::Result<Vec<$crate::store::RosterRow>> {
                Ok(sqlx::query_as(
                    "SELECT g.agent_id, g.name, g.disabled, g.last_ping_at, g.mic_perm,
                        (SELECT COUNT(*) FROM agent_sessions s
                         WHERE s.agent_pk = g.id AND s.ended_at IS NULL
                           AND s.expires_at > $2 AND s.last_seen_at > $3) AS live_sessions,
                        b.reason_code, b.reason, b.limit_seconds, b.started_at AS break_started_at,
                        w.call_id, w.customer_number, w.mode AS wrap_mode,
                        w.started_at AS wrap_started_at, w.ends_at AS wrap_ends_at
                     FROM agents g
                     LEFT JOIN breaks b ON b.agent_pk = g.id AND b.ended_at IS NULL
                     LEFT JOIN wrap_ups w ON w.agent_pk = g.id AND w.ended_at IS NULL
                                          AND (w.ends_at IS NULL OR w.ends_at > $2)
                     WHERE g.account_pk = $1
                     ORDER BY g.agent_id",
                )
                .bind(account_pk)
                .bind(now)
                .bind(now - idle_timeout_secs)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn state_counts(
                &self,
                now: i64,
                idle_timeout_secs: i64,
                max_accounts: i64,
            ) -> $crate::store::Result<$crate::store::StateCounts> {
                // One more than allowed, to tell "at the cap" from "over it".
                let accounts: Vec<$crate::store::AccountCounts> = sqlx::query_as(&format!(
                    "SELECT a.user_id,
                        COALESCE(SUM(f.logged_in), 0) AS logged_in,
                        COALESCE(SUM(f.on_break), 0) AS on_break,
                        COALESCE(SUM(f.in_wrap_up), 0) AS in_wrap_up
                     FROM accounts a LEFT JOIN ({}) f ON f.account_pk = a.id
                     GROUP BY a.id, a.user_id
                     LIMIT $3",
                    $crate::store::states::AGENT_STATE_FLAGS
                ))
                .bind(now)
                .bind(now - idle_timeout_secs)
                .bind(max_accounts.saturating_add(1))
                .fetch_all(&self.pool)
                .await?;
                if accounts.len() as i64 <= max_accounts {
                    let mut total = $crate::store::AgentCounts::default();
                    for a in &accounts {
                        total += a.counts;
                    }
                    return Ok($crate::store::StateCounts {
                        total,
                        accounts: Some(accounts),
                    });
                }
                let total: $crate::store::AgentCounts = sqlx::query_as(&format!(
                    "SELECT COALESCE(SUM(f.logged_in), 0) AS logged_in,
                        COALESCE(SUM(f.on_break), 0) AS on_break,
                        COALESCE(SUM(f.in_wrap_up), 0) AS in_wrap_up
                     FROM ({}) f",
                    $crate::store::states::AGENT_STATE_FLAGS
                ))
                .bind(now)
                .bind(now - idle_timeout_secs)
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::store::StateCounts {
                    total,
                    accounts: None,
                })
            }
        }
    };
}
