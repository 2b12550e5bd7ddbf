//! Every agent of an account with its state at once (the roster), and the counts of agents
//! in each state that the metrics show.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use crate::domain::{
    Agent, Break, Call, CallDirection, EventKind, MicPerm, RosterLine, RosterQuery, WrapMode,
    WrapUp,
};

#[async_trait]
pub trait Roster: Send + Sync {
    /// Every agent of the account (or only those asked for) with its current state, in
    /// agent id order.
    async fn roster(&self, query: RosterQuery<'_>) -> Result<Vec<RosterLine>>;

    /// How many agents are logged in, on break, in wrap-up and on a call at `now`, in all and (when there
    /// are at most `max_accounts` accounts) per account: read-only, for the metrics.
    async fn state_counts(
        &self,
        now: i64,
        idle_timeout_secs: i64,
        max_accounts: i64,
    ) -> Result<StateCounts>;
}

/// The roster's row as the database gives it: the break's and wrap-up's columns are null
/// when there is none.
#[derive(sqlx::FromRow)]
pub struct RosterRow {
    #[sqlx(flatten)]
    agent: Agent,
    live_sessions: i64,
    seen: Option<i64>,
    last_ping_at: Option<i64>,
    mic_perm: Option<MicPerm>,
    last_event_id: Option<i64>,
    last_change_at: Option<i64>,
    reason_code: Option<String>,
    reason: Option<String>,
    limit_seconds: Option<i64>,
    break_started_at: Option<i64>,
    call_id: Option<String>,
    customer_number: Option<String>,
    wrap_mode: Option<WrapMode>,
    wrap_started_at: Option<i64>,
    wrap_ends_at: Option<i64>,
    call_call_id: Option<String>,
    call_customer_number: Option<String>,
    call_direction: Option<CallDirection>,
    call_started_at: Option<i64>,
}

impl From<RosterRow> for RosterLine {
    fn from(r: RosterRow) -> Self {
        let on_break = match (r.reason_code, r.reason, r.break_started_at) {
            (Some(reason_code), Some(reason), Some(started_at)) => Some(Break {
                reason_code,
                reason,
                limit_seconds: r.limit_seconds,
                started_at,
                ended_at: None,
            }),
            _ => None,
        };
        let wrap_up = match (r.call_id, r.wrap_mode, r.wrap_started_at) {
            (Some(call_id), Some(mode), Some(started_at)) => Some(WrapUp {
                call_id,
                customer_number: r.customer_number.unwrap_or_default(),
                mode,
                started_at,
                ends_at: r.wrap_ends_at,
                ended_at: None,
            }),
            _ => None,
        };
        let call = match (r.call_call_id, r.call_direction, r.call_started_at) {
            (Some(call_id), Some(direction), Some(started_at)) => Some(Call {
                call_id,
                customer_number: r.call_customer_number.unwrap_or_default(),
                direction,
                started_at,
                ended_at: None,
                outcome: None,
            }),
            _ => None,
        };
        RosterLine {
            agent: r.agent,
            live_sessions: r.live_sessions,
            seen: r.seen,
            last_ping_at: r.last_ping_at,
            mic_perm: r.mic_perm,
            on_break,
            wrap_up,
            call,
            last_event_id: r.last_event_id.unwrap_or(0),
            last_change_at: r.last_change_at,
        }
    }
}

/// The event kinds that change no roster state, as an SQL list (`'mic.change', …`): from
/// [`EventKind::changes_state`], so a new kind cannot go unnoticed in `stateSince`.
static NOT_STATE_KINDS: LazyLock<String> = LazyLock::new(|| {
    let kinds: Vec<String> = EventKind::ALL
        .iter()
        .filter(|kind| !kind.changes_state())
        .map(|kind| format!("'{kind}'"))
        .collect();
    kinds.join(", ")
});

/// The agents a roster is of: all of the account's (`$1`), or only those whose primary keys
/// are in the JSON array `$4`. Two statements, not one with `$4 IS NULL OR …`: PostgreSQL
/// may cache one plan per statement, and the few agents of a stream's batch are then read
/// by their keys, not by a scan of the account's.
enum RosterOf {
    Account,
    Chosen,
}

/// The roster of [`RosterOf`], with each agent's state at `$2`; a live session is one neither
/// ended, expired nor idle since `$3`.
fn roster_sql<DB: Backend>(of: RosterOf) -> String {
    let which = match of {
        RosterOf::Account => "account_pk = $1".to_owned(),
        RosterOf::Chosen => format!("account_pk = $1 AND id IN ({})", DB::json_ids("$4")),
    };
    format!(
        "SELECT g.*,
            (SELECT COUNT(*) FROM agent_sessions s
             WHERE s.agent_pk = g.id AND s.ended_at IS NULL
               AND s.expires_at > $2 AND s.last_seen_at > $3) AS live_sessions,
            (SELECT MAX(s.last_seen_at) FROM agent_sessions s
             WHERE s.agent_pk = g.id AND s.ended_at IS NULL
               AND s.expires_at > $2 AND s.last_seen_at > $3) AS seen,
            (SELECT MAX(e.id) FROM events e WHERE e.agent_pk = g.id) AS last_event_id,
            (SELECT e.at FROM events e
             WHERE e.agent_pk = g.id AND e.kind NOT IN ({not_state_kinds})
             ORDER BY e.id DESC LIMIT 1) AS last_change_at,
            b.reason_code, b.reason, b.limit_seconds, b.started_at AS break_started_at,
            w.call_id, w.customer_number, w.mode AS wrap_mode,
            w.started_at AS wrap_started_at, w.ends_at AS wrap_ends_at,
            c.call_id AS call_call_id, c.customer_number AS call_customer_number,
            c.direction AS call_direction, c.started_at AS call_started_at
         FROM (SELECT id, account_pk, agent_id, name, wrap_seconds, wrap_mode, disabled,
                      last_ping_at, mic_perm
               FROM agents WHERE {which}) g
         LEFT JOIN breaks b ON b.agent_pk = g.id AND b.ended_at IS NULL
         LEFT JOIN wrap_ups w ON w.agent_pk = g.id AND w.ended_at IS NULL
                              AND (w.ends_at IS NULL OR w.ends_at > $2)
         LEFT JOIN calls c ON c.agent_pk = g.id AND c.ended_at IS NULL
         ORDER BY g.agent_id",
        not_state_kinds = *NOT_STATE_KINDS,
    )
}

/// How many agents are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct AgentCounts {
    pub logged_in: i64,
    pub on_break: i64,
    pub in_wrap_up: i64,
    pub on_call: i64,
}

impl std::ops::AddAssign for AgentCounts {
    fn add_assign(&mut self, other: AgentCounts) {
        self.logged_in += other.logged_in;
        self.on_break += other.on_break;
        self.in_wrap_up += other.in_wrap_up;
        self.on_call += other.on_call;
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

/// One row per agent with its account and a 1 or 0 for each state at `$1` (now): logged in
/// (a session neither ended, expired nor idle since `$2`), on break (an open break), in
/// wrap-up (an open wrap-up that has not run out), on a call (an open call). Each test is one
/// indexed lookup.
const AGENT_STATE_FLAGS: &str = "SELECT g.account_pk,
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
             THEN 1 ELSE 0 END AS in_wrap_up,
        CASE WHEN EXISTS (SELECT 1 FROM calls c
                          WHERE c.agent_pk = g.id AND c.ended_at IS NULL)
             THEN 1 ELSE 0 END AS on_call
     FROM agents g";

/// The sums of [`AGENT_STATE_FLAGS`] over the rows `f`.
const COUNT_SUMS: &str = "COALESCE(SUM(f.logged_in), 0) AS logged_in,
        COALESCE(SUM(f.on_break), 0) AS on_break,
        COALESCE(SUM(f.in_wrap_up), 0) AS in_wrap_up,
        COALESCE(SUM(f.on_call), 0) AS on_call";

#[async_trait]
impl<DB: Backend> Roster for SqlStore<DB> {
    async fn roster(&self, query: RosterQuery<'_>) -> Result<Vec<RosterLine>> {
        let RosterQuery {
            account_pk,
            agents,
            now,
            idle_timeout_secs,
        } = query;
        let sql = roster_sql::<DB>(match agents {
            None => RosterOf::Account,
            Some(_) => RosterOf::Chosen,
        });
        let mut roster = Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(now)
            .bind(now - idle_timeout_secs);
        if let Some(ids) = agents {
            roster = roster.bind(serde_json::to_string(ids).unwrap_or_default());
        }
        let rows: Vec<RosterRow> = roster.fetch_all(&mut *self.conn().await?).await?;
        Ok(rows.into_iter().map(RosterLine::from).collect())
    }

    async fn state_counts(
        &self,
        now: i64,
        idle_timeout_secs: i64,
        max_accounts: i64,
    ) -> Result<StateCounts> {
        let mut conn = self.conn().await?;
        // One more than allowed, to tell "at the cap" from "over it".
        let sql = format!(
            "SELECT a.user_id, {COUNT_SUMS}
             FROM accounts a LEFT JOIN ({AGENT_STATE_FLAGS}) f ON f.account_pk = a.id
             GROUP BY a.id, a.user_id
             LIMIT $3"
        );
        let accounts: Vec<AccountCounts> = Sql::<DB>::new(&sql)
            .bind(now)
            .bind(now - idle_timeout_secs)
            .bind(max_accounts.saturating_add(1))
            .fetch_all(&mut conn)
            .await?;
        if accounts.len() as i64 <= max_accounts {
            let mut total = AgentCounts::default();
            for a in &accounts {
                total += a.counts;
            }
            return Ok(StateCounts {
                total,
                accounts: Some(accounts),
            });
        }
        let sql = format!("SELECT {COUNT_SUMS} FROM ({AGENT_STATE_FLAGS}) f");
        let total: AgentCounts = Sql::<DB>::new(&sql)
            .bind(now)
            .bind(now - idle_timeout_secs)
            .fetch_one(&mut conn)
            .await?;
        Ok(StateCounts {
            total,
            accounts: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_that_change_no_state_are_listed_for_sql() {
        assert_eq!(
            *NOT_STATE_KINDS,
            "'mic.change', 'presence.online', 'presence.stale', 'presence.offline', 'tag.create', \
             'webhook.disabled'"
        );
    }
}
