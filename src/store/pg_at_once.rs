//! A break's start or end sent whole, in ONE message on PostgreSQL: BEGIN, the agent's lock
//! (a start), the change (`start_break_known`, `end_break_known`, migration 0012), its
//! events into `pending_events`, COMMIT; then (the caller, its connection given back) the
//! account's group commit (`pg_commit.rs`).
//! The caller knows beforehand what the change will be (the reason it resolved before, the
//! open break from the live view), so it writes the event itself; the functions check that
//! the database agrees, and refuse otherwise (`Stale`: the caller takes the long way, three
//! round trips, which also says precisely why a change is refused). One message instead of
//! three: each wakes PostgreSQL and this server once, and they were most of a change's cost.
//!
//! Outside sqlx's transactions (the message begins and commits its own), so a message that
//! fails before its COMMIT is rolled back here; one whose outcome is unknown closes its
//! connection.

use sqlx::postgres::PgConnection;
use sqlx::{Either, Executor};

use super::StoreError;
use super::backend::{AtOnce, BoxFuture, NewEvent};
use super::pg_commit::{literal, pending};

/// PostgreSQL's answer to a change its functions found not as the caller knew it.
const STALE: [&str; 2] = ["APRSN", "APSTL"];
const ON_CALL: &str = "APONC";
const AGENT_DISABLED: &str = "APDIS";

/// `SELECT lock_enabled_agent(…); SELECT start_break_known(…)`, as literals.
pub(super) fn start_break(
    agent_pk: i64,
    account_pk: i64,
    name: &str,
    reason: &crate::domain::BreakReason,
    now: i64,
) -> Result<String, StoreError> {
    Ok(format!(
        "SELECT lock_enabled_agent({agent_pk}); \
         SELECT start_break_known({agent_pk}, {account_pk}, {}, {}, {}, {}, {}, {now})",
        literal(name)?,
        reason.id,
        literal(reason.code.as_str())?,
        literal(reason.label.as_str())?,
        reason
            .limit_seconds
            .map_or("NULL".into(), |l| l.to_string()),
    ))
}

/// `SELECT end_break_known(…)` of the open break `known`, as literals.
pub(super) fn end_break(
    agent_pk: i64,
    known: &crate::domain::Break,
    now: i64,
) -> Result<String, StoreError> {
    Ok(format!(
        "SELECT end_break_known({agent_pk}, {now}, {}, {}, {}, {})",
        known.started_at,
        literal(&known.reason_code)?,
        literal(&known.reason)?,
        known.limit_seconds.map_or("NULL".into(), |l| l.to_string()),
    ))
}

/// Runs `statements` and records `events` (one account's) in one transaction, in one
/// message: durable once the account's group commit answers (`pg_commit::sequenced`).
pub(super) fn write<'c>(
    conn: &'c mut PgConnection,
    statements: String,
    events: &'c [NewEvent],
    instance: u64,
) -> BoxFuture<'c, AtOnce> {
    Box::pin(async move {
        let sql = match pending(events, instance) {
            Ok(insert) => {
                format!("BEGIN; SET LOCAL synchronous_commit = off; {statements}; {insert}; COMMIT")
            }
            Err(err) => return AtOnce::Refused(err),
        };
        let outcome = {
            use futures_util::TryStreamExt;
            let mut results = sqlx::raw_sql(&sql).fetch_many(&mut *conn);
            loop {
                match results.try_next().await {
                    Ok(Some(Either::Left(_))) => {}
                    Ok(Some(Either::Right(_))) => {}
                    Ok(None) => break Ok(()),
                    Err(err) => break Err(err),
                }
            }
        };
        match outcome {
            Ok(()) => {}
            // Refused before the COMMIT: the server skipped the rest; roll back here.
            Err(sqlx::Error::Database(db)) => {
                let code = db.code().map(|c| c.into_owned());
                if conn.execute("ROLLBACK").await.is_err() {
                    return AtOnce::Unknown(StoreError::Database(sqlx::Error::Database(db)));
                }
                return match code.as_deref() {
                    Some(c) if STALE.contains(&c) => AtOnce::Stale,
                    Some(ON_CALL) => AtOnce::Refused(StoreError::OnCall),
                    Some(AGENT_DISABLED) => AtOnce::Refused(StoreError::AgentDisabled),
                    _ => AtOnce::Refused(sqlx::Error::Database(db).into()),
                };
            }
            Err(err) => return AtOnce::Unknown(err.into()),
        }
        AtOnce::Done
    })
}
