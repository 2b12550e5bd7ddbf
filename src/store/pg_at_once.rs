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
//! one statement instead of six (BEGIN, SET, the lock, the change, the INSERT, COMMIT).
//! The statement is a prepared one, its values bound (sqlx keeps it prepared per
//! connection): PostgreSQL neither parses nor plans it again at each call, which took a
//! sixth of its time (`pgbench -r`, one client: 272 → 229 µs a start, 225 → 191 an end).
//!
//! Outside sqlx's transactions (the statement is its own), so a failed one is rolled back by
//! the server; one whose outcome is unknown closes its connection.

use sqlx::postgres::{PgArguments, PgConnection, Postgres};
use sqlx::query::Query;

use super::StoreError;
use super::backend::{AtOnce, AtOnceCall, BoxFuture, NewEvent};

/// PostgreSQL's answer to a change its functions found not as the caller knew it.
const STALE: [&str; 2] = ["APRSN", "APSTL"];
const ON_CALL: &str = "APONC";
const AGENT_DISABLED: &str = "APDIS";

const START: &str = "SELECT start_break_once($1, $2, $3, $4, $5, $6, $7, $8, \
    $9, $10, $11, $12, $13, $14, $15)";
const END: &str = "SELECT end_break_once($1, $2, $3, $4, $5, $6, \
    $7, $8, $9, $10, $11, $12, $13)";

/// Runs `call` with its `event`, as one statement: durable once the account's group commit
/// answers (`pg_commit::sequenced`).
pub(super) fn write<'c>(
    conn: &'c mut PgConnection,
    call: AtOnceCall,
    event: &'c NewEvent,
    instance: u64,
) -> BoxFuture<'c, AtOnce> {
    Box::pin(async move {
        // PostgreSQL stores no NUL in text: refused here, as a literal's would be.
        if texts(&call, event).any(|t| t.contains('\0')) {
            return AtOnce::Refused(StoreError::BadText);
        }
        let instance = instance.to_string();
        let query = match &call {
            AtOnceCall::Start {
                agent_pk,
                account_pk,
                name,
                reason,
                now,
            } => sqlx::query(START)
                .bind(agent_pk)
                .bind(account_pk)
                .bind(name)
                .bind(reason.id)
                .bind(&reason.code)
                .bind(&reason.label)
                .bind(reason.limit_seconds)
                .bind(now),
            AtOnceCall::End {
                agent_pk,
                known,
                now,
            } => sqlx::query(END)
                .bind(agent_pk)
                .bind(now)
                .bind(known.started_at)
                .bind(&known.reason_code)
                .bind(&known.reason)
                .bind(known.limit_seconds),
        };
        match with_event(query, event, &instance).execute(conn).await {
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

/// The event's values, in `pending_events`' column order: the calls' last arguments.
fn with_event<'q>(
    query: Query<'q, Postgres, PgArguments>,
    e: &'q NewEvent,
    instance: &'q str,
) -> Query<'q, Postgres, PgArguments> {
    query
        .bind(e.account_pk)
        .bind(e.agent_pk)
        .bind(e.kind.as_str())
        .bind(&e.actor)
        .bind(e.at)
        .bind(&e.details)
        .bind(instance)
}

/// Every text the statement carries.
fn texts<'a>(call: &'a AtOnceCall, e: &'a NewEvent) -> impl Iterator<Item = &'a str> {
    let call: [&str; 3] = match call {
        AtOnceCall::Start { name, reason, .. } => [name, &reason.code, &reason.label],
        AtOnceCall::End { known, .. } => [&known.reason_code, &known.reason, ""],
    };
    call.into_iter().chain([e.actor.as_str(), &e.details])
}
