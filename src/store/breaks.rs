//! Breaks: at most one open per agent (a partial unique index), each with its reason.

use async_trait::async_trait;

use super::backend::{Backend, Sql};
use super::reasons::REASON_NAMED;
use super::sql::SqlStore;
use super::tx::Tx;
use super::{Result, StoreError};
use crate::domain::{Act, Agent, Break, BreakEnding, BreakReason, Ending, EventDetails};
use crate::live::AgentUpdate;

#[async_trait]
pub trait Breaks: Send + Sync {
    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>>;
    /// Starts a break for the account's reason `reason` names (its code, else its label, any
    /// case; `UnknownReason` unless that reason is active). `Conflict` when the agent already
    /// has an open break; `OnCall` during a call.
    async fn start_break(&self, agent: &Agent, reason: &str, act: Act) -> Result<Break>;
    /// Ends the open break, if any, and returns it.
    async fn end_break(&self, agent: &Agent, act: Act) -> Result<Option<Break>>;
}

/// The agent's (`$1`) open break, as `Break` reads it.
pub(super) const OPEN_BREAK: &str =
    "SELECT reason_code, reason, limit_seconds, started_at, ended_at
    FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL";

/// Starts the agent's (`$1`) break at `$4` for the reason of its account (`$2`) that `$3`
/// names (as `REASON_NAMED` finds it), if that reason is active and the agent is not on a
/// call: the lookup and both checks in the one statement (no row: one of them refused).
const START_BREAK: &str = "WITH r AS (
        SELECT id, code, label, limit_seconds, active FROM break_reasons
        WHERE account_pk = $2 AND (LOWER(code) = LOWER($3) OR LOWER(label) = LOWER($3))
        ORDER BY CASE WHEN LOWER(code) = LOWER($3) THEN 0 ELSE 1 END, id LIMIT 1)
    INSERT INTO breaks (agent_pk, reason_pk, reason_code, reason, limit_seconds, started_at)
    SELECT $1, id, code, label, limit_seconds, $4 FROM r
    WHERE active AND NOT EXISTS (SELECT 1 FROM calls WHERE agent_pk = $1 AND ended_at IS NULL)
    RETURNING reason_code, reason, limit_seconds, started_at, ended_at";

/// Ends the agent's (`$1`) open break at `$2`, never before its start: a start that
/// committed in between may carry a later second than the end request read its clock.
const CLOSE_BREAK: &str =
    "UPDATE breaks SET ended_at = CASE WHEN $2 < started_at THEN started_at ELSE $2 END
     WHERE agent_pk = $1 AND ended_at IS NULL
     RETURNING reason_code, reason, limit_seconds, started_at, ended_at";

#[async_trait]
impl<DB: Backend> Breaks for SqlStore<DB> {
    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>> {
        Sql::<DB>::new(OPEN_BREAK)
            .bind(agent_pk)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    /// Three round trips: the BEGIN with the agent's lock, the one statement, and the
    /// commit's message (see `START_BREAK`); a refusal reads the reason again to say which.
    async fn start_break(&self, agent: &Agent, reason: &str, act: Act) -> Result<Break> {
        let Act { actor, now } = act;
        let mut tx = self.begin_on_agent(agent.id).await?;
        // The partial unique index refuses a second open break: `Conflict`.
        let started: Option<Break> = Sql::<DB>::new(START_BREAK)
            .bind(agent.id)
            .bind(agent.account_pk)
            .bind(reason)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(started) = started else {
            // Under the agent's lock, its calls cannot change meanwhile.
            let named: Option<BreakReason> = Sql::<DB>::new(REASON_NAMED)
                .bind(agent.account_pk)
                .bind(reason)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match named {
                Some(r) if r.active => StoreError::OnCall,
                _ => StoreError::UnknownReason,
            });
        };
        let details = EventDetails::BreakStart {
            reason_code: started.reason_code.clone(),
            reason: started.reason.clone(),
            limit: started.limit_seconds,
        };
        tx.record_event(agent, details, actor, now);
        tx.agent_updated(agent, AgentUpdate::BreakStarted(started.clone()));
        tx.commit().await?;
        Ok(started)
    }

    async fn end_break(&self, agent: &Agent, act: Act) -> Result<Option<Break>> {
        let mut tx = self.begin().await?;
        let ended = close_break::<DB>(&mut tx, agent, Ending::Ended, act).await?;
        if ended.is_some() {
            tx.agent_updated(agent, AgentUpdate::BreakEnded);
        }
        tx.commit().await?;
        Ok(ended)
    }
}

/// Inside a transaction: ends the agent's open break at `now` (never before its start),
/// recording its `break.end` at the time it got; `how` is `Ended` or `Disabled` (a break
/// does not expire). None when there was none.
pub(super) async fn close_break<DB: Backend>(
    tx: &mut Tx<DB>,
    agent: &Agent,
    how: Ending,
    act: Act,
) -> Result<Option<Break>> {
    let now = act.now;
    let close = Sql::<DB>::new(CLOSE_BREAK).bind(agent.id).bind(now);
    let end = |b: &Break| {
        let how = match how {
            Ending::Disabled => BreakEnding::Disabled,
            Ending::Ended | Ending::Expired => {
                let detail = b.detail(now);
                BreakEnding::Ended {
                    duration: detail.current_duration,
                    over_limit: detail.over_limit,
                }
            }
        };
        EventDetails::BreakEnd {
            reason_code: b.reason_code.clone(),
            how,
        }
    };
    tx.close_open(close, agent, act, end).await
}
