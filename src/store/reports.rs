//! What time-in-state reports read: what each agent had open at the period's start (from the
//! state tables, which the same transactions keep in step with the events, so no history
//! before the period needs replaying), and the agents' state-changing events in the period.
//! And the deletion of events past their retention.

use std::collections::HashMap;

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use crate::domain::{Change, Open, OpenBreak, STATE_KINDS};

/// An account's agents: (agent pk, agentId, created at), by agentId.
pub type ReportAgents = Vec<(i64, String, i64)>;

/// One agent's changes, by time then id.
pub type Changes = Vec<(i64, Change)>;

#[async_trait]
pub trait Reports: Send + Sync {
    /// Every agent of the account.
    async fn report_agents(&self, account_pk: i64) -> Result<ReportAgents>;
    /// For these agents of the account: what each had open at `from`, and its changes in
    /// `[from, to)`.
    async fn report_history(
        &self,
        account_pk: i64,
        agents: &[i64],
        from: i64,
        to: i64,
    ) -> Result<(HashMap<i64, Open>, HashMap<i64, Changes>)>;
    /// Deletes at most `batch` of the oldest events from before `before`, but for those an
    /// enabled webhook endpoint has not delivered yet; answers how many.
    async fn delete_events_before(&self, before: i64, batch: i64) -> Result<u64>;
}

/// Something open at `$1`: a break (`label` its reason code, `until` its limit), a call, a
/// wrap-up (`until` its end, null when untimed) or a session (`until` its expiry).
#[derive(sqlx::FromRow)]
pub struct OpenRow {
    agent_pk: i64,
    what: String,
    ref_id: i64,
    started_at: i64,
    until: Option<i64>,
    label: String,
}

#[derive(sqlx::FromRow)]
pub struct ChangeRow {
    id: i64,
    agent_pk: i64,
    kind: String,
    at: i64,
    details: String,
}

fn open_at(ids: &str) -> String {
    format!(
        "SELECT agent_pk, 'break' AS what, id AS ref_id, started_at, limit_seconds AS until,
                reason_code AS label
         FROM breaks WHERE agent_pk IN ({ids}) AND started_at < $1
             AND (ended_at IS NULL OR ended_at > $1)
         UNION ALL
         SELECT agent_pk, 'call', id, started_at, CAST(NULL AS BIGINT), call_id
         FROM calls WHERE agent_pk IN ({ids}) AND started_at < $1
             AND (ended_at IS NULL OR ended_at > $1)
         UNION ALL
         SELECT agent_pk, 'wrap', id, started_at, ends_at, call_id
         FROM wrap_ups WHERE agent_pk IN ({ids}) AND started_at < $1
             AND (ended_at IS NULL OR ended_at > $1) AND (ends_at IS NULL OR ends_at > $1)
         UNION ALL
         SELECT agent_pk, 'session', id, created_at, expires_at, ''
         FROM agent_sessions WHERE agent_pk IN ({ids}) AND created_at < $1
             AND (ended_at IS NULL OR ended_at > $1) AND expires_at > $1"
    )
}

fn changes_in(ids: &str) -> String {
    let kinds = STATE_KINDS.map(|k| format!("'{k}'")).join(", ");
    format!(
        "SELECT id, agent_pk, kind, at, details FROM events
         WHERE account_pk = $1 AND at >= $2 AND at < $3 AND agent_pk IN ({ids})
             AND kind IN ({kinds})"
    )
}

#[async_trait]
impl<DB: Backend> Reports for SqlStore<DB> {
    async fn report_agents(&self, account_pk: i64) -> Result<ReportAgents> {
        Sql::<DB>::new(
            "SELECT id, agent_id, created_at FROM agents WHERE account_pk = $1 ORDER BY agent_id",
        )
        .bind(account_pk)
        .fetch_all(&mut *self.conn().await?)
        .await
    }

    async fn report_history(
        &self,
        account_pk: i64,
        agents: &[i64],
        from: i64,
        to: i64,
    ) -> Result<(HashMap<i64, Open>, HashMap<i64, Changes>)> {
        let ids = serde_json::to_string(agents).unwrap_or_default();
        let mut conn = self.conn().await?;
        let rows: Vec<OpenRow> = Sql::<DB>::new(&open_at(&DB::json_ids("$2")))
            .bind(from)
            .bind(ids.as_str())
            .fetch_all(&mut *conn)
            .await?;
        let mut open: HashMap<i64, Open> = HashMap::new();
        for r in rows {
            let o = open.entry(r.agent_pk).or_default();
            match r.what.as_str() {
                "break" => {
                    o.on_break = Some(OpenBreak {
                        reason_code: r.label,
                        limit: r.until,
                        started_at: r.started_at,
                    })
                }
                "call" => o.on_call = true,
                "wrap" => o.wrap = Some(r.until),
                _ => o.sessions.push((r.ref_id, r.until.unwrap_or(i64::MAX))),
            }
        }
        let rows: Vec<ChangeRow> = Sql::<DB>::new(&changes_in(&DB::json_ids("$4")))
            .bind(account_pk)
            .bind(from)
            .bind(to)
            .bind(ids.as_str())
            .fetch_all(&mut *conn)
            .await?;
        // Ordered here, not by the database: a month of an account's events is millions of
        // rows, which PostgreSQL sorts on disk, and each agent's few thousand sort fast here.
        let mut by_agent: HashMap<i64, Vec<(i64, i64, Change)>> = HashMap::new();
        for r in rows {
            let details = match Change::needs_details(&r.kind) {
                true => serde_json::from_str(&r.details).unwrap_or_default(),
                false => serde_json::Value::Null,
            };
            if let Some(change) = Change::read(&r.kind, &details) {
                by_agent
                    .entry(r.agent_pk)
                    .or_default()
                    .push((r.at, r.id, change));
            }
        }
        let changes = by_agent
            .into_iter()
            .map(|(agent_pk, mut list)| {
                list.sort_unstable_by_key(|(at, id, _)| (*at, *id));
                let list = list.into_iter().map(|(at, _, c)| (at, c)).collect();
                (agent_pk, list)
            })
            .collect();
        Ok((open, changes))
    }

    async fn delete_events_before(&self, before: i64, batch: i64) -> Result<u64> {
        // Never what an enabled webhook endpoint has yet to deliver: the history is its outbox.
        Sql::<DB>::new(
            "DELETE FROM events WHERE id IN
                 (SELECT e.id FROM events e WHERE e.at < $1
                      AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.account_pk = e.account_pk
                                          AND w.enabled AND w.cursor < e.id)
                  ORDER BY e.at LIMIT $2)",
        )
        .bind(before)
        .bind(batch)
        .execute(&mut *self.conn().await?)
        .await
    }
}
