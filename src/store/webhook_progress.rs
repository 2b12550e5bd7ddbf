//! The deliverer's progress, many endpoints' in one transaction: each cursor moved only from
//! the value it was read at (so a replay, or another deliverer, is never undone), the
//! attempts made inserted, and the log trimmed when asked. Committed lazily: delivery is at
//! least once, and a cursor advance that a crash of the database undoes only sends the same
//! events again, with the same `webhook-id`.

use std::collections::HashSet;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use crate::domain::DeliveryAttempt;

/// Attempts kept per endpoint (`GET …/deliveries` lists the newest 100).
pub(super) const ATTEMPTS_KEPT: i64 = 100;
/// Rows per INSERT: 9 binds each, within SQLite's 32,766 and PostgreSQL's 65,535.
const ROWS_PER_INSERT: usize = 1000;

/// What one run of an endpoint's deliverer did: the cursor it read and where it moves it,
/// the failed attempts of the next event and when it is tried again, and the attempts made.
#[derive(Debug, Clone)]
pub struct Progress {
    pub webhook: i64,
    pub from_cursor: i64,
    pub to_cursor: i64,
    pub attempts: i64,
    pub next_try_ms: Option<i64>,
    pub made: Vec<DeliveryAttempt>,
    /// Trims the endpoint's log to the newest ATTEMPTS_KEPT attempts after this write.
    pub trim: bool,
}

impl<DB: Backend> SqlStore<DB> {
    /// Records each run (see [`Progress`]) in one transaction, not durable when answered;
    /// answers, for each, whether its cursor moved (false: it had moved since it was read).
    pub(super) async fn record_runs(&self, runs: &[Progress]) -> Result<Vec<bool>> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let mut moved = vec![false; runs.len()];
        // One UPDATE per group of distinct endpoints (a joined UPDATE changes a row once).
        let mut start = 0;
        while start < runs.len() {
            let mut seen = HashSet::new();
            let end = start
                + runs[start..]
                    .iter()
                    .take_while(|p| seen.insert(p.webhook))
                    .count();
            let ids = move_cursors::<DB>(&mut tx, &runs[start..end]).await?;
            for (i, p) in runs[start..end].iter().enumerate() {
                moved[start + i] = ids.contains(&p.webhook);
            }
            start = end;
        }
        let recorded: Vec<&Progress> = runs
            .iter()
            .zip(&moved)
            .filter_map(|(p, moved)| moved.then_some(p))
            .collect();
        insert_attempts::<DB>(&mut tx, &recorded).await?;
        for p in recorded.iter().filter(|p| p.trim) {
            trim::<DB>(&mut tx, p.webhook).await?;
        }
        tx.commit_lazy().await?;
        Ok(moved)
    }
}

/// Moves the cursors of these runs' endpoints (distinct), each only from the value it was
/// read at; answers the endpoints moved.
async fn move_cursors<DB: Backend>(
    conn: &mut DB::Connection,
    runs: &[Progress],
) -> Result<HashSet<i64>> {
    // VALUES columns are column1… on both databases.
    let rows: Vec<String> = (0..runs.len())
        .map(|i| {
            let p: Vec<String> = (1..=5).map(|k| format!("${}", i * 5 + k)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    let sql = format!(
        "UPDATE webhooks SET cursor = v.column3, attempts = v.column4, next_try_ms = v.column5
         FROM (VALUES {}) AS v
         WHERE webhooks.id = v.column1 AND webhooks.cursor = v.column2 AND webhooks.enabled
         RETURNING id",
        rows.join(", ")
    );
    let mut update = Sql::<DB>::new(&sql);
    for p in runs {
        update = update
            .bind(p.webhook)
            .bind(p.from_cursor)
            .bind(p.to_cursor)
            .bind(p.attempts)
            .bind(p.next_try_ms);
    }
    let moved: Vec<(i64,)> = update.fetch_all(conn).await?;
    Ok(moved.into_iter().map(|(id,)| id).collect())
}

/// The runs' attempts, in as few statements as the bind limits allow.
pub(super) async fn insert_attempts<DB: Backend>(
    conn: &mut DB::Connection,
    runs: &[&Progress],
) -> Result<()> {
    // Only the newest ATTEMPTS_KEPT of a long run: the older ones would go at once.
    let rows: Vec<(i64, &DeliveryAttempt)> = runs
        .iter()
        .flat_map(|p| {
            let made = &p.made[p.made.len().saturating_sub(ATTEMPTS_KEPT as usize)..];
            made.iter().map(|a| (p.webhook, a))
        })
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p: Vec<String> = (1..=9).map(|k| format!("${}", i * 9 + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO webhook_deliveries (webhook_pk, event_id, attempt, at_ms, ok, status,
             latency_ms, error, next_try_ms) VALUES {}",
            values.join(", ")
        );
        let mut insert = Sql::<DB>::new(&sql);
        for (webhook, a) in chunk {
            insert = insert
                .bind(*webhook)
                .bind(a.event_id)
                .bind(a.attempt)
                .bind(a.at_ms)
                .bind(a.ok)
                .bind(a.status)
                .bind(a.latency_ms)
                .bind(a.error.as_deref())
                .bind(a.next_try_ms);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Keeps the endpoint's newest ATTEMPTS_KEPT attempts.
pub(super) async fn trim<DB: Backend>(conn: &mut DB::Connection, webhook: i64) -> Result<()> {
    Sql::<DB>::new(
        "DELETE FROM webhook_deliveries WHERE webhook_pk = $1 AND id <= (
             SELECT id FROM webhook_deliveries WHERE webhook_pk = $1
             ORDER BY id DESC LIMIT 1 OFFSET $2)",
    )
    .bind(webhook)
    .bind(ATTEMPTS_KEPT)
    .execute(conn)
    .await?;
    Ok(())
}
