//! PostgreSQL's end of a write ([`Backend::finish`](super::backend::Backend::finish)): the
//! events, the announcements, the COMMIT and the durability barrier travel in ONE message.
//!
//! Each event is inserted by `record_event` (migration 0010) under its account's advisory
//! lock, held to the commit, so that an account's event ids follow commit order. Sent with
//! the COMMIT, that lock is held only while the server runs the inserts and the commit, never
//! across a round trip to the client (it was, and it bounded an account's writes). The values
//! travel as literals (a multi-statement message is a simple query, which takes no
//! parameters): integers formatted here, text as escape strings ([`literal`]).
//!
//! The commit is asynchronous (`SET LOCAL synchronous_commit = off` in `BEGIN`: PostgreSQL
//! serialises the commits of notifying transactions under a lock held through their WAL
//! flush); the barrier after it, a transaction of its own that takes a transaction id and
//! commits synchronously, flushes the WAL past it, so the answer (after the whole message)
//! comes once the write is durable. A lazy commit (`Tx::commit_lazy`) leaves the barrier out:
//! answered once committed, durable within three `wal_writer_delay`s (600 ms by default), or
//! lost should the server crash first. The message ends in a new, empty transaction, so that
//! sqlx's count of open transactions stays true; it is rolled back (queued, sent with the
//! connection's next message), which costs no round trip.

use sqlx::postgres::{PgConnection, Postgres};
use sqlx::{Either, TransactionManager};

use super::StoreError;
use super::backend::{BoxFuture, Finished, NewEvent, Unfinished};
use crate::live::{CHANNEL, Change};

/// After the COMMIT: the durability barrier, then the empty transaction sqlx expects.
const AFTER_COMMIT: &str = "BEGIN; SELECT pg_current_xact_id(); COMMIT; BEGIN";
/// After a lazy COMMIT: only the empty transaction.
const AFTER_LAZY_COMMIT: &str = "BEGIN";

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
        let mut ids = Vec::with_capacity(events.len());
        // Statements completed: the first `before_commit` precede the COMMIT.
        let mut done = 0;
        let outcome = {
            use futures_util::TryStreamExt;
            let mut results = sqlx::raw_sql(&sql).fetch_many(&mut *conn);
            loop {
                match results.try_next().await {
                    Ok(Some(Either::Left(_))) => done += 1,
                    Ok(Some(Either::Right(row))) if done < events.len() => {
                        ids.push(sqlx::Row::try_get::<i64, _>(&row, 0))
                    }
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
                Err(Unfinished::before_commit(err))
            }
            Err(err) => Err(Unfinished::after_commit(err)),
            Ok(()) => {
                // The empty transaction the message ended in.
                <Postgres as sqlx::Database>::TransactionManager::start_rollback(conn);
                let ids = ids.into_iter().collect::<sqlx::Result<Vec<i64>>>();
                match ids {
                    Ok(ids) if ids.len() == events.len() => Ok(ids),
                    Ok(_) => Err(Unfinished::after_commit(sqlx::Error::RowNotFound)),
                    Err(err) => Err(Unfinished::after_commit(err)),
                }
            }
        }
    })
}

/// The message, and how many of its statements precede the COMMIT.
fn message(
    events: &[NewEvent],
    notes: &[Change],
    instance: u64,
    durable: bool,
) -> Result<(String, usize), StoreError> {
    let mut sql = String::with_capacity(256 * (events.len() + 1));
    let instance_text = literal(&instance.to_string())?;
    for e in events {
        let agent = e
            .agent_pk
            .map_or_else(|| "NULL".to_owned(), |pk| pk.to_string());
        sql.push_str(&format!(
            "SELECT record_event({}, {agent}, {}, {}, {}, {}, {});\n",
            e.account_pk,
            literal(e.kind.as_str())?,
            literal(&e.actor)?,
            e.at,
            literal(&e.details)?,
            instance_text,
        ));
    }
    for note in notes {
        sql.push_str(&format!(
            "SELECT pg_notify({}, {});\n",
            literal(CHANNEL)?,
            literal(&note.payload(instance))?
        ));
    }
    sql.push_str("COMMIT;\n");
    sql.push_str(if durable {
        AFTER_COMMIT
    } else {
        AFTER_LAZY_COMMIT
    });
    Ok((sql, events.len() + notes.len()))
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
    fn the_message_commits_after_the_events_and_the_notes() {
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
        };
        let (sql, before) = message(&[event], &[note], 42, true).unwrap();
        assert_eq!(before, 2);
        assert_eq!(
            sql,
            "SELECT record_event(7, NULL, E'break.start', E'cli', -3, \
             E'{\"reason\":\"O''Brien \\\\\\\\\"}', E'42');\n\
             SELECT pg_notify(E'agentprofile_changes', E'42 7 9 0');\n\
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
