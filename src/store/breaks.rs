//! Breaks: at most one open per agent (a partial unique index), each with its reason.

use async_trait::async_trait;

use super::backend::{AtOnce, AtOnceCall, Backend, NewEvent, Sql};
use super::reasons::REASON_NAMED;
use super::reasons::Reasons;
use super::sql::SqlStore;
use super::tx::{Tx, detached};
use super::{Result, StoreError};
use crate::domain::{Act, Agent, Break, BreakEnding, BreakReason, Ending, EventDetails};
use crate::live::{AgentUpdate, Change};

#[async_trait]
pub trait Breaks: Send + Sync {
    async fn open_break(&self, agent_pk: i64) -> Result<Option<Break>>;
    /// Starts a break for the account's reason `reason` names (its code, else its label, any
    /// case; `UnknownReason` unless that reason is active). `Conflict` when the agent already
    /// has an open break; `OnCall` during a call.
    async fn start_break(&self, agent: &Agent, reason: &str, act: Act) -> Result<Break>;
    /// Ends the open break, if any, and returns it. `known`: the open break the live view
    /// holds, if it does (then the end may be sent whole, in one statement).
    async fn end_break(
        &self,
        agent: &Agent,
        known: Option<&Break>,
        act: Act,
    ) -> Result<Option<Break>>;
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

    /// In one statement when the reason `reason` resolved to before is known (and is still
    /// the one, which the database checks; see `pg_at_once.rs`). Else the long way, three
    /// round trips: the BEGIN with the agent's lock, the one statement (see `START_BREAK`),
    /// and the commit's message; a refusal reads the reason again to say which.
    async fn start_break(&self, agent: &Agent, reason: &str, act: Act) -> Result<Break> {
        let Act { actor, now } = act;
        let key = (agent.account_pk, reason.to_owned());
        let known = self.known_reasons().get(&key).cloned();
        if let Some(known) = known {
            let started = Break {
                reason_code: known.code.clone(),
                reason: known.label.clone(),
                limit_seconds: known.limit_seconds,
                started_at: now,
                ended_at: None,
            };
            let call = AtOnceCall::Start {
                agent_pk: agent.id,
                account_pk: agent.account_pk,
                name: reason.to_owned(),
                reason: known,
                now,
            };
            let update = AgentUpdate::BreakStarted(started.clone());
            if self
                .at_once(agent, call, start_details(&started), act, update)
                .await?
            {
                return Ok(started);
            }
            self.known_reasons().remove(&key);
        }
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
        if DB::AT_ONCE {
            // What the next start by this name may assume (checked then).
            if let Some(r) = self
                .reason(agent.account_pk, reason)
                .await?
                .filter(|r| r.active)
            {
                let mut known = self.known_reasons();
                if known.len() >= KNOWN_REASONS {
                    known.clear();
                }
                known.insert(key, r);
            }
        }
        Ok(started)
    }

    /// In one statement when the live view holds the open break (see `pg_at_once.rs`).
    async fn end_break(
        &self,
        agent: &Agent,
        known: Option<&Break>,
        act: Act,
    ) -> Result<Option<Break>> {
        if let Some(known) = known.filter(|_| DB::AT_ONCE) {
            let ended = Break {
                ended_at: Some(act.now.max(known.started_at)),
                ..known.clone()
            };
            let call = AtOnceCall::End {
                agent_pk: agent.id,
                known: known.clone(),
                now: act.now,
            };
            let details = end_details(&ended, Ending::Ended, act.now);
            let act_at = Act {
                actor: act.actor,
                now: ended.ended_at.unwrap_or(act.now),
            };
            if self
                .at_once(agent, call, details, act_at, AgentUpdate::BreakEnded)
                .await?
            {
                return Ok(Some(ended));
            }
        }
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
    tx.close_open(close, agent, act, |b| end_details(b, how, now))
        .await
}

/// The `break.end` of the break `b` ended (`how`) by a request at `now`.
fn end_details(b: &Break, how: Ending, now: i64) -> EventDetails {
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
}

/// The `break.start` of `started`.
fn start_details(started: &Break) -> EventDetails {
    EventDetails::BreakStart {
        reason_code: started.reason_code.clone(),
        reason: started.reason.clone(),
        limit: started.limit_seconds,
    }
}

/// At most this many reasons kept by name (names are the clients'): emptied when full.
const KNOWN_REASONS: usize = 10_000;

impl<DB: Backend> SqlStore<DB> {
    fn known_reasons(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(i64, String), BreakReason>> {
        self.reasons.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A change of the agent sent whole, in one statement ([`Backend::at_once`]), recording
    /// the event `details` at `act`: true once durable, false when the database has no such
    /// path or found the change not as assumed (nothing written: take the long way).
    async fn at_once(
        &self,
        agent: &Agent,
        call: AtOnceCall,
        details: EventDetails,
        act: Act,
        update: AgentUpdate,
    ) -> Result<bool> {
        if !DB::AT_ONCE {
            return Ok(false);
        }
        let event = NewEvent {
            account_pk: agent.account_pk,
            agent_pk: Some(agent.id),
            kind: details.kind(),
            actor: act.actor.to_string(),
            at: act.now,
            details: details.to_json().to_string(),
        };
        let change = [Change {
            account_pk: agent.account_pk,
            agent_pk: Some(agent.id),
            event: None,
            kind: None,
        }];
        let mut conn = self.conn().await?;
        let (feed, turns, runs) = (self.feed.clone(), self.turns.clone(), self.runs.clone());
        let (account_pk, agent_pk) = (agent.account_pk, agent.id);
        // Detached: rolled back or committed, its view updated, and its connection clean (the
        // message runs outside sqlx's transactions) whatever happens to the request.
        detached(async move {
            let before = feed.view().generation();
            match DB::at_once(&mut conn, call, &event, feed.instance()).await {
                AtOnce::Done => {
                    // Committed: the connection goes back before the wait for durability.
                    drop(conn);
                    if let Err(err) = DB::sequenced(&runs, &turns, account_pk).await {
                        feed.committed(&change, &[], None);
                        return Err(err.into());
                    }
                    feed.committed(&change, &[(agent_pk, update)], before);
                    Ok(true)
                }
                AtOnce::Stale => Ok(false),
                AtOnce::Refused(err) => Err(err),
                AtOnce::Unknown(err) => {
                    feed.committed(&change, &[], None);
                    conn.close_on_drop();
                    Err(err)
                }
            }
        })
        .await
    }
}
