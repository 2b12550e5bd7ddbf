//! PostgreSQL's end of a write ([`Backend::finish`](super::backend::Backend::finish)): one
//! message with the write's events, its announcements and its COMMIT; then, if it recorded
//! events, its account's group commit ([`sequenced`], [`Turns`]).
//!
//! The events are committed unnumbered, into `pending_events`, with the change; a sequencing
//! run of the account (`sequence_events`, migration 0012) that begins after that commit
//! moves them into `events` under the account's event lock, so that an account's event ids
//! follow the order in which they become visible, announces them, and commits durably. One
//! run serves every write of the account that committed while the previous one ran: the
//! lock, the announcements' commit lock and the WAL flush are taken once per run, not once
//! per write (they bounded an account's writes). The write's own commit is asynchronous
//! (`SET LOCAL synchronous_commit = off` in `BEGIN`); the run's, synchronous, flushes the WAL
//! past it, so the answer comes once the write is durable. Runs take their connection from
//! a small pool of their own ([`runs_pool`]): a write gives its connection back before it
//! waits, so a run serves as many writes as arrive, not as many as hold a connection (with
//! 16 connections for 64 clients it served 15 at most, and the break pair ran at 1,560/s).
//! A write without events ends its message with a durability barrier instead: a transaction
//! of its own that takes a transaction id and commits synchronously.
//!
//! The values travel as literals (a multi-statement message is a simple query, which takes
//! no parameters): integers formatted here, text as escape strings ([`literal`]). Messages
//! end in a new, empty transaction, so that sqlx's count of open transactions stays true; it
//! is rolled back (queued, sent with the connection's next message or its release).

use sqlx::postgres::{PgConnectOptions, PgConnection, Postgres};
use sqlx::{Either, Pool, TransactionManager};

use super::StoreError;
use super::backend::{BoxFuture, Finished, NewEvent, Unfinished, pool_options};
use super::group_commit::Turns;
use crate::live::{CHANNEL, Change};

/// A write's events, committed with it, waiting for its account's sequencing run.
const PENDING: &str = "INSERT INTO pending_events \
    (account_pk, agent_pk, kind, actor, at, details, instance) VALUES ";

/// The durability barrier, then the empty transaction sqlx expects.
const BARRIER: &str = "BEGIN; SELECT pg_current_xact_id(); COMMIT; BEGIN";

pub(super) fn finish<'c>(
    conn: &'c mut PgConnection,
    events: &'c [NewEvent],
    notes: &'c [Change],
    instance: u64,
    durable: bool,
) -> BoxFuture<'c, Finished> {
    Box::pin(async move {
        let (sql, before_commit) =
            message(events, notes, instance, durable).map_err(Unfinished::before_commit)?;
        // Statements completed: the first `before_commit` precede the COMMIT.
        let mut done = 0;
        let outcome = {
            use futures_util::TryStreamExt;
            let mut results = sqlx::raw_sql(&sql).fetch_many(&mut *conn);
            loop {
                match results.try_next().await {
                    Ok(Some(Either::Left(_))) => done += 1,
                    Ok(Some(Either::Right(_))) => {}
                    Ok(None) => break Ok(()),
                    Err(err) => break Err(err),
                }
            }
        };
        match outcome {
            // An error the server reported before the COMMIT: it skipped the rest of the
            // message, and the transaction, failed, is rolled back by the caller.
            Err(err @ sqlx::Error::Database(_)) if done < before_commit => {
                return Err(Unfinished::before_commit(err));
            }
            Err(err) => return Err(Unfinished::after_commit(err)),
            Ok(()) => {}
        }
        // The empty transaction the message ended in.
        <Postgres as sqlx::Database>::TransactionManager::start_rollback(conn);
        // Numbered by a run ([`sequenced`]): this write's ids are announced on the feed, not
        // answered here.
        Ok(vec![None; events.len()])
    })
}

/// The pool of the runs: a few connections, opened when first needed, whose commits are
/// synchronous whatever the server's default (they are what makes the writes durable).
pub(super) fn runs_pool(
    url: &str,
    acquire_timeout: std::time::Duration,
) -> sqlx::Result<Pool<Postgres>> {
    let options: PgConnectOptions = url.parse()?;
    Ok(pool_options(RUNS, acquire_timeout)
        .connect_lazy_with(options.options([("synchronous_commit", "on")])))
}

/// Connections for runs: runs of one account follow each other, so this many accounts'
/// runs may be under way at once.
const RUNS: u32 = 4;

/// Returns once a run of the account that began after the call has committed, durably
/// (see [`Turns::after`]).
pub(super) fn sequenced<'a>(
    runs: &'a Pool<Postgres>,
    turns: &'a Turns,
    account_pk: i64,
) -> BoxFuture<'a, sqlx::Result<()>> {
    Box::pin(turns.after(account_pk, move || async move {
        sqlx::query("SELECT sequence_events($1)")
            .bind(account_pk)
            .execute(runs)
            .await
            .map(drop)
    }))
}

/// The message, and how many of its statements precede the COMMIT.
fn message(
    events: &[NewEvent],
    notes: &[Change],
    instance: u64,
    durable: bool,
) -> Result<(String, usize), StoreError> {
    let mut sql = String::with_capacity(256 * (events.len() + 1));
    let mut statements = 0;
    if !events.is_empty() {
        sql.push_str(&pending(events, instance)?);
        sql.push_str(";\n");
        statements += 1;
    }
    for note in notes {
        sql.push_str(&format!(
            "SELECT pg_notify({}, {});\n",
            literal(CHANNEL)?,
            literal(&note.payload(instance))?
        ));
        statements += 1;
    }
    sql.push_str("COMMIT;\n");
    // With events, the account's run is the barrier; a lazy write (`Tx::commit_lazy`) has none.
    sql.push_str(if events.is_empty() && durable {
        BARRIER
    } else {
        "BEGIN"
    });
    Ok((sql, statements))
}

/// The statement that commits `events` unnumbered, waiting for their accounts' runs.
fn pending(events: &[NewEvent], instance: u64) -> Result<String, StoreError> {
    let instance_text = literal(&instance.to_string())?;
    let mut sql = String::with_capacity(PENDING.len() + 192 * events.len());
    sql.push_str(PENDING);
    for (i, e) in events.iter().enumerate() {
        let values = event_values(e, &instance_text)?;
        sql.push_str(&format!("{}({values})", if i == 0 { "" } else { ", " }));
    }
    Ok(sql)
}

/// An event's values as literals, in `pending_events`' column order (`instance_text` already
/// a literal): a row of [`pending`].
pub(super) fn event_values(e: &NewEvent, instance_text: &str) -> Result<String, StoreError> {
    let agent = e
        .agent_pk
        .map_or_else(|| "NULL".to_owned(), |pk| pk.to_string());
    Ok(format!(
        "{}, {agent}, {}, {}, {}, {}, {instance_text}",
        e.account_pk,
        literal(e.kind.as_str())?,
        literal(&e.actor)?,
        e.at,
        literal(&e.details)?,
    ))
}

/// `text` as an SQL string literal that means exactly `text` whatever the server's
/// `standard_conforming_strings`: an escape string, `E'…'`, with its quotes and backslashes
/// doubled; every other character (any Unicode, `$`, newlines) stands for itself.
/// `BadText` for a NUL, which PostgreSQL cannot store (and which would end the message).
pub(super) fn literal(text: &str) -> Result<String, StoreError> {
    if text.contains('\0') {
        return Err(StoreError::BadText);
    }
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_quotes_and_backslashes_only() {
        assert_eq!(literal("").unwrap(), "E''");
        assert_eq!(literal("plain").unwrap(), "E'plain'");
        assert_eq!(literal("it's").unwrap(), "E'it''s'");
        assert_eq!(literal(r"a\'b").unwrap(), r"E'a\\''b'");
        assert_eq!(
            literal("'; DROP TABLE events; --").unwrap(),
            "E'''; DROP TABLE events; --'"
        );
        assert_eq!(literal("$$ $q$ ünï 😀\n").unwrap(), "E'$$ $q$ ünï 😀\n'");
        assert!(matches!(literal("a\0b"), Err(StoreError::BadText)));
    }

    #[test]
    fn the_message_commits_the_events_unnumbered_and_a_write_without_any_a_barrier() {
        let event = NewEvent {
            account_pk: 7,
            agent_pk: None,
            kind: crate::domain::EventKind::BreakStart,
            actor: "cli".into(),
            at: -3,
            details: r#"{"reason":"O'Brien \\"}"#.into(),
        };
        let note = Change {
            account_pk: 7,
            agent_pk: Some(9),
            event: None,
            kind: None,
        };
        let (sql, before) = message(&[event.clone(), event], &[note], 42, true).unwrap();
        assert_eq!(before, 2);
        assert_eq!(
            sql,
            "INSERT INTO pending_events \
             (account_pk, agent_pk, kind, actor, at, details, instance) VALUES (7, NULL, E'break.start', E'cli', -3, \
             E'{\"reason\":\"O''Brien \\\\\\\\\"}', E'42'), \
             (7, NULL, E'break.start', E'cli', -3, \
             E'{\"reason\":\"O''Brien \\\\\\\\\"}', E'42');\n\
             SELECT pg_notify(E'agentprofile_changes', E'42 7 9 0');\n\
             COMMIT;\n\
             BEGIN"
        );
        let (sql, before) = message(&[], &[note], 42, true).unwrap();
        assert_eq!(before, 1);
        assert_eq!(
            sql,
            "SELECT pg_notify(E'agentprofile_changes', E'42 7 9 0');\n\
             COMMIT;\n\
             BEGIN; SELECT pg_current_xact_id(); COMMIT; BEGIN"
        );
    }

    #[test]
    fn a_lazy_commit_leaves_the_barrier_out() {
        let (sql, before) = message(&[], &[], 42, false).unwrap();
        assert_eq!(before, 0);
        assert_eq!(sql, "COMMIT;\nBEGIN");
    }
}
