//! Breaks: at most one open per agent (a partial unique index), each with its reason.

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::calls::not_on_call;
use super::sql::SqlStore;
use super::tx::Tx;
use crate::domain::{Act, Agent, Break, BreakEnding, BreakReason, Ending, EventDetails};

#[async_trait]
pub trait Breaks: Send + Sync {
    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>>;
    /// `Conflict` when the agent already has an open break; `OnCall` during a call.
    async fn start_break(&self, agent: &Agent, reason: &BreakReason, act: Act) -> Result<Break>;
    /// Ends the open break, if any, and returns it.
    async fn end_break(&self, agent: &Agent, act: Act) -> Result<Option<Break>>;
}

/// The agent's (`$1`) open break, as `Break` reads it.
pub(super) const OPEN_BREAK: &str =
    "SELECT reason_code, reason, limit_seconds, started_at, ended_at
    FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL";

const START_BREAK: &str =
    "INSERT INTO breaks (agent_pk, reason_pk, reason_code, reason, limit_seconds, started_at)
     VALUES ($1, $2, $3, $4, $5, $6)
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

    async fn start_break(&self, agent: &Agent, reason: &BreakReason, act: Act) -> Result<Break> {
        let Act { actor, now } = act;
        let mut tx = self.begin_on_agent(agent.id).await?;
        not_on_call::<DB>(&mut tx, agent.id).await?;
        // The partial unique index refuses a second open break: `Conflict`.
        let started: Break = Sql::<DB>::new(START_BREAK)
            .bind(agent.id)
            .bind(reason.id)
            .bind(reason.code.as_str())
            .bind(reason.label.as_str())
            .bind(reason.limit_seconds)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let details = EventDetails::BreakStart {
            reason_code: reason.code.clone(),
            reason: reason.label.clone(),
            limit: reason.limit_seconds,
        };
        tx.record_event(agent, details, actor, now);
        tx.commit().await?;
        Ok(started)
    }

    async fn end_break(&self, agent: &Agent, act: Act) -> Result<Option<Break>> {
        let mut tx = self.begin().await?;
        let ended = close_break::<DB>(&mut tx, agent, Ending::Ended, act).await?;
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
