//! A break's start or end sent whole, as ONE statement on PostgreSQL: `start_break_once` or
//! `end_break_once` (migration 0013), a transaction of its own (autocommit), which turns the
//! WAL flush off for its commit, takes the agent's lock (a start), makes the change
//! (`start_break_known`, `end_break_known`, migration 0012) and commits its event into
//! `pending_events`; then (the caller, its connection given back) the account's group commit
//! (`pg_commit.rs`) makes it durable.
//! The caller knows beforehand what the change will be (the reason it resolved before, the
//! open break from the live view), so it writes the event itself; the functions check that
//! the database agrees, and refuse otherwise (`Stale`: the caller takes the long way, three
//! round trips, which also says precisely why a change is refused). One message instead of
//! three: each wakes PostgreSQL and this server once, and they were most of a change's cost;
//! one statement instead of six (BEGIN, SET, the lock, the change, the INSERT, COMMIT): each
//! was parsed and planned in every message.
//!
//! Outside sqlx's transactions (the statement is its own), so a failed one is rolled back by
//! the server; one whose outcome is unknown closes its connection.

use sqlx::Executor;
use sqlx::postgres::PgConnection;

use super::StoreError;
use super::backend::{AtOnce, BoxFuture, NewEvent};
use super::pg_commit::{event_values, literal};

/// PostgreSQL's answer to a change its functions found not as the caller knew it.
const STALE: [&str; 2] = ["APRSN", "APSTL"];
const ON_CALL: &str = "APONC";
const AGENT_DISABLED: &str = "APDIS";

/// `SELECT start_break_once(…` as literals, its arguments left open for the event's
/// ([`write`] closes them).
pub(super) fn start_break(
    agent_pk: i64,
    account_pk: i64,
    name: &str,
    reason: &crate::domain::BreakReason,
    now: i64,
) -> Result<String, StoreError> {
    Ok(format!(
        "SELECT start_break_once({agent_pk}, {account_pk}, {}, {}, {}, {}, {}, {now}",
        literal(name)?,
        reason.id,
        literal(reason.code.as_str())?,
        literal(reason.label.as_str())?,
        reason
            .limit_seconds
            .map_or("NULL".into(), |l| l.to_string()),
    ))
}

/// `SELECT end_break_once(…` of the open break `known`, as literals, its arguments left
/// open for the event's ([`write`] closes them).
pub(super) fn end_break(
    agent_pk: i64,
    known: &crate::domain::Break,
    now: i64,
) -> Result<String, StoreError> {
    Ok(format!(
        "SELECT end_break_once({agent_pk}, {now}, {}, {}, {}, {}",
        known.started_at,
        literal(&known.reason_code)?,
        literal(&known.reason)?,
        known.limit_seconds.map_or("NULL".into(), |l| l.to_string()),
    ))
}

/// Runs `call` (one of the two above) with its `event`, as one statement: durable once the
/// account's group commit answers (`pg_commit::sequenced`).
pub(super) fn write<'c>(
    conn: &'c mut PgConnection,
    call: String,
    event: &'c NewEvent,
    instance: u64,
) -> BoxFuture<'c, AtOnce> {
    Box::pin(async move {
        let values = literal(&instance.to_string()).and_then(|text| event_values(event, &text));
        let sql = match values {
            Ok(arguments) => format!("{call}, {arguments})"),
            Err(err) => return AtOnce::Refused(err),
        };
        match conn.execute(sqlx::raw_sql(&sql)).await {
            Ok(_) => AtOnce::Done,
            // Refused: the server rolled the statement's transaction back.
            Err(sqlx::Error::Database(db)) => match db.code().as_deref() {
                Some(c) if STALE.contains(&c) => AtOnce::Stale,
                Some(ON_CALL) => AtOnce::Refused(StoreError::OnCall),
                Some(AGENT_DISABLED) => AtOnce::Refused(StoreError::AgentDisabled),
                _ => AtOnce::Refused(sqlx::Error::Database(db).into()),
            },
            Err(err) => AtOnce::Unknown(err.into()),
        }
    })
}
