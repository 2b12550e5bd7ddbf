//! The embedded SQLite file: the zero-setup default.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Pool, TransactionManager};

use super::StoreOptions;
use super::backend::{
    Backend, BoxFuture, Finished, NewEvent, RowsAffected, Unfinished, pool_options,
};
use crate::live::{Change, Feed, PendingPings};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Backend for Sqlite {
    const KIND: &'static str = "sqlite";
    /// Takes the write lock at once: two writers never both read, then fail to upgrade.
    /// The DELETE that deletes nothing is a write all the same: on a connection SQLite
    /// opened read-only (the file could not be written then, and the connection stays so)
    /// it fails with SQLITE_READONLY here, where `begin` replaces the connection, and not
    /// halfway through a change (BEGIN IMMEDIATE alone succeeds on it).
    const BEGIN: &'static str = "BEGIN IMMEDIATE; DELETE FROM feed_changes WHERE 0";

    /// BEGIN IMMEDIATE, then the lock's own statement.
    fn begin_on_agent(_agent_pk: i64) -> Option<String> {
        None
    }

    /// Opens (creating it and its folders if needed) the file named by `url`:
    /// `sqlite://path`, `sqlite:path` or a plain path.
    fn connect(options: &StoreOptions) -> BoxFuture<'static, super::Result<Pool<Self>>> {
        let url = options.url.as_str();
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url)
            .to_owned();
        let wait = options.acquire_timeout;
        let max_connections = options.max_connections;
        Box::pin(async move {
            if let Some(dir) = Path::new(&path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged write survives a power cut, not only a process crash.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(wait);
            Ok(pool_options(max_connections, wait)
                .connect_with(options)
                .await?)
        })
    }

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, super::Result<()>> {
        Box::pin(async move { Ok(MIGRATOR.run(pool).await?) })
    }

    fn json_ids(param: &str) -> String {
        format!("SELECT value FROM json_each({param})")
    }

    /// Step by step: writers are serialised (BEGIN IMMEDIATE), so ids follow commit order;
    /// the changes that no event records are kept in `feed_changes`, for `follow` in another
    /// process (which reads `events` back too). Commits are durable when they return
    /// (synchronous FULL), lazy ones too (`durable` is not asked for: one file, one fsync).
    fn finish<'c>(
        conn: &'c mut SqliteConnection,
        events: &'c [NewEvent],
        notes: &'c [Change],
        _instance: u64,
        _durable: bool,
    ) -> BoxFuture<'c, Finished> {
        Box::pin(async move {
            let mut ids = Vec::with_capacity(events.len());
            for e in events {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO events (account_pk, agent_pk, kind, actor, at, details)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(e.account_pk)
                .bind(e.agent_pk)
                .bind(e.kind)
                .bind(&e.actor)
                .bind(e.at)
                .bind(&e.details)
                .fetch_one(&mut *conn)
                .await
                .map_err(Unfinished::before_commit)?;
                ids.push(Some(id));
            }
            for change in notes {
                sqlx::query("INSERT INTO feed_changes (account_pk, agent_pk) VALUES ($1, $2)")
                    .bind(change.account_pk)
                    .bind(change.agent_pk)
                    .execute(&mut *conn)
                    .await
                    .map_err(Unfinished::before_commit)?;
            }
            <Sqlite as sqlx::Database>::TransactionManager::commit(conn)
                .await
                .map_err(Unfinished::after_commit)?;
            Ok(ids)
        })
    }

    fn flush_pings<'c>(
        conn: &'c mut SqliteConnection,
        pings: &'c PendingPings,
    ) -> BoxFuture<'c, super::Result<()>> {
        // One JSON array per table, read back by json_each: one statement for any number.
        let agents = serde_json::to_string(&pings.agents).unwrap_or_default();
        let sessions = serde_json::to_string(&pings.sessions).unwrap_or_default();
        Box::pin(async move {
            sqlx::query(
                "UPDATE agents SET last_ping_at = v.at, client_ping_time = v.client
                 FROM (SELECT value ->> 0 AS id, value ->> 1 AS at, value ->> 2 AS client
                       FROM json_each($1)) AS v
                 WHERE agents.id = v.id AND NOT agents.disabled
                   AND (agents.last_ping_at IS NULL OR agents.last_ping_at < v.at
                        OR (agents.last_ping_at = v.at AND agents.client_ping_time IS NOT v.client))",
            )
            .bind(agents)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE agent_sessions SET last_seen_at = v.at
                 FROM (SELECT value ->> 0 AS id, value ->> 1 AS at FROM json_each($1)) AS v
                 WHERE agent_sessions.id = v.id AND agent_sessions.ended_at IS NULL
                   AND agent_sessions.last_seen_at < v.at",
            )
            .bind(sessions)
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    /// One server per file: it sweeps and delivers.
    fn lease(
        _pool: &Pool<Self>,
        _which: super::LeaseOf,
    ) -> BoxFuture<'static, super::Result<Option<super::Lease>>> {
        Box::pin(async { Ok(Some(super::Lease { conn: None })) })
    }

    /// This process applies its own changes at commit; what other processes (the CLI)
    /// commit to the file is read back every [`POLL`] from `events` and `feed_changes`, and
    /// so is every event, for the streams.
    fn follow(pool: &Pool<Self>, feed: Arc<Feed>) -> BoxFuture<'static, ()> {
        let pool = pool.clone();
        Box::pin(async move {
            loop {
                feed.lost();
                if let Ok(mut seen) = newest(&pool).await {
                    feed.live();
                    loop {
                        tokio::time::sleep(POLL).await;
                        match since(&pool, seen).await {
                            Ok((changes, newest)) => {
                                feed.read_back(&changes);
                                seen = newest;
                            }
                            Err(err) => {
                                tracing::warn!(error = %err, "cannot read the change feed");
                                break;
                            }
                        }
                    }
                }
                feed.lost();
                tokio::time::sleep(POLL).await;
            }
        })
    }
}

/// How often the file is asked for changes other processes committed.
const POLL: Duration = Duration::from_millis(100);

/// The newest ids of `events` and `feed_changes`.
type Seen = (i64, i64);

async fn newest(pool: &Pool<Sqlite>) -> sqlx::Result<Seen> {
    sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM events),
                (SELECT COALESCE(MAX(id), 0) FROM feed_changes)",
    )
    .fetch_one(pool)
    .await
}

/// A row of `since`: id, table (0: events, 1: feed_changes), account, agent, event kind.
type ChangeRow = (i64, i64, i64, Option<i64>, Option<String>);

/// What was committed after `seen`, and the new newest ids.
async fn since(pool: &Pool<Sqlite>, seen: Seen) -> sqlx::Result<(Vec<Change>, Seen)> {
    let rows: Vec<ChangeRow> = sqlx::query_as(
        "SELECT id, 0, account_pk, agent_pk, kind FROM events WHERE id > $1
         UNION ALL
         SELECT id, 1, account_pk, agent_pk, NULL FROM feed_changes WHERE id > $2
         ORDER BY 2, 1",
    )
    .bind(seen.0)
    .bind(seen.1)
    .fetch_all(pool)
    .await?;
    let mut newest = seen;
    let changes = rows
        .into_iter()
        .map(|(id, table, account_pk, agent_pk, kind)| {
            if table == 0 {
                newest.0 = newest.0.max(id);
            } else {
                newest.1 = newest.1.max(id);
            }
            Change {
                account_pk,
                agent_pk,
                event: (table == 0).then_some(id),
                kind: kind.and_then(|kind| kind.parse().ok()),
            }
        })
        .collect();
    Ok((changes, newest))
}

impl RowsAffected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}
