//! PostgreSQL, the production database.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{
    PgConnectOptions, PgConnection, PgListener, PgPoolOptions, PgQueryResult, Postgres,
};
use sqlx::{Connection, Executor, Pool};

use super::StoreOptions;
use super::backend::{
    AtOnce, AtOnceCall, Backend, BoxFuture, Finished, NewEvent, RowsAffected, pool_options,
};
use super::group_commit::Turns;
use crate::live::{CHANNEL, Change, Feed, PendingPings};

/// How often each instance announces a probe, so a listener that hears nothing for
/// [`SILENCE`] knows its connection is dead even when the socket does not say so.
const PROBE_EVERY: Duration = Duration::from_secs(1);
const SILENCE: Duration = Duration::from_secs(3);
/// The listener's connection, as `pg_stat_activity` names it.
pub const FEED_APPLICATION_NAME: &str = "agentprofile-feed";
/// The deployment-wide leases (the presence sweeper's: 1, the webhook deliverer's: 2) are
/// session advisory locks with two 32-bit keys ("aprf", n), which cannot collide with the
/// one-key locks that order each account's events.
const LEASE_LOCK: i32 = 0x6170_7266;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Backend for Postgres {
    const KIND: &'static str = "postgres";
    /// PostgreSQL serialises the commits of notifying transactions under one lock held
    /// through their WAL flush, which halved write throughput (pgbench, 16 clients: 5.6k
    /// tps plain, 2.5k with a pg_notify). So they commit without waiting for the flush,
    /// releasing the lock at once, and [`Backend::finish`] waits for it before the answer.
    const BEGIN: &'static str = "BEGIN; SET LOCAL synchronous_commit = off";

    /// `lock_enabled_agent` (migrations 0010, 0015) locks the row `FOR NO KEY UPDATE`: the
    /// lock an UPDATE of it takes, without writing it (SQLite's separate statement updates).
    fn begin_on_agent(agent_pk: i64) -> Option<String> {
        Some(format!(
            "{}; SELECT lock_enabled_agent({agent_pk})",
            Self::BEGIN
        ))
    }

    fn connect(options: &StoreOptions) -> BoxFuture<'static, super::Result<Pool<Self>>> {
        let pool = pool_options(options.max_connections, options.acquire_timeout);
        let url = options.url.clone();
        Box::pin(async move { Ok(pool.connect(&url).await?) })
    }

    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, super::Result<()>> {
        Box::pin(async move {
            MIGRATOR.run(pool).await?;
            sequence_waiting(pool).await
        })
    }

    fn tidy(pool: &Pool<Self>) -> BoxFuture<'_, super::Result<()>> {
        Box::pin(async move {
            sequence_waiting(pool).await?;
            // Another instance's vacuum of it under way: this one's is not needed.
            sqlx::raw_sql("VACUUM (SKIP_LOCKED) pending_events")
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    fn json_ids(param: &str) -> String {
        format!("SELECT json_array_elements_text(CAST({param} AS json))::bigint")
    }

    fn finish<'c>(
        conn: &'c mut PgConnection,
        events: &'c [NewEvent],
        notes: &'c [Change],
        instance: u64,
        durable: bool,
    ) -> BoxFuture<'c, Finished> {
        super::pg_commit::finish(conn, events, notes, instance, durable)
    }

    fn runs_pool(_main: &Pool<Self>, options: &StoreOptions) -> super::Result<Pool<Self>> {
        Ok(super::pg_commit::runs_pool(
            &options.url,
            options.acquire_timeout,
        )?)
    }

    fn sequenced<'a>(
        runs: &'a Pool<Self>,
        turns: &'a Turns,
        account_pk: i64,
    ) -> BoxFuture<'a, sqlx::Result<()>> {
        super::pg_commit::sequenced(runs, turns, account_pk)
    }

    const AT_ONCE: bool = true;

    fn at_once<'c>(
        conn: &'c mut PgConnection,
        call: AtOnceCall,
        event: &'c NewEvent,
        instance: u64,
    ) -> BoxFuture<'c, AtOnce> {
        super::pg_at_once::write(conn, call, event, instance)
    }

    fn flush_pings<'c>(
        conn: &'c mut PgConnection,
        pings: &'c PendingPings,
    ) -> BoxFuture<'c, super::Result<()>> {
        let (ids, ats, clients): (Vec<i64>, Vec<i64>, Vec<Option<i64>>) =
            pings.agents.iter().copied().collect();
        let (sessions, seen): (Vec<i64>, Vec<i64>) = pings.sessions.iter().copied().unzip();
        Box::pin(async move {
            sqlx::query(
                "UPDATE agents AS g SET last_ping_at = v.at, client_ping_time = v.client
                 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, at, client)
                 WHERE g.id = v.id AND NOT g.disabled
                   AND (g.last_ping_at IS NULL OR g.last_ping_at < v.at
                        OR (g.last_ping_at = v.at AND g.client_ping_time IS DISTINCT FROM v.client))",
            )
            .bind(ids)
            .bind(ats)
            .bind(clients)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "UPDATE agent_sessions AS s SET last_seen_at = v.at
                 FROM unnest($1::bigint[], $2::bigint[]) AS v(id, at)
                 WHERE s.id = v.id AND s.ended_at IS NULL AND s.last_seen_at < v.at",
            )
            .bind(sessions)
            .bind(seen)
            .execute(conn)
            .await?;
            Ok(())
        })
    }

    fn lease(
        pool: &Pool<Self>,
        which: super::LeaseOf,
    ) -> BoxFuture<'static, super::Result<Option<super::Lease>>> {
        let (key, name) = match which {
            super::LeaseOf::Sweeper => (1, "agentprofile-sweeper"),
            super::LeaseOf::Webhooks => (2, "agentprofile-webhooks"),
        };
        let options = (*pool.connect_options()).clone().application_name(name);
        Box::pin(async move {
            let mut conn = PgConnection::connect_with(&options).await?;
            let (held,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1, $2)")
                .bind(LEASE_LOCK)
                .bind(key)
                .fetch_one(&mut conn)
                .await?;
            if !held {
                let _ = conn.close().await;
                return Ok(None);
            }
            Ok(Some(super::Lease { conn: Some(conn) }))
        })
    }

    fn follow(pool: &Pool<Self>, feed: Arc<Feed>) -> BoxFuture<'static, ()> {
        let options = (*pool.connect_options())
            .clone()
            .application_name(FEED_APPLICATION_NAME);
        Box::pin(async move {
            tokio::select! {
                () = listen(options.clone(), feed.clone()) => {}
                () = probe(options, feed) => {}
            }
        })
    }
}

/// Listens on its own connection; the view is live only while it is connected and hears.
async fn listen(options: PgConnectOptions, feed: Arc<Feed>) {
    let mut retry = Duration::from_millis(100);
    loop {
        feed.lost();
        match listener(&options).await {
            Ok(mut listener) => {
                feed.live();
                retry = Duration::from_millis(100);
                tracing::info!("change feed live");
                loop {
                    match tokio::time::timeout(SILENCE, listener.try_recv()).await {
                        Ok(Ok(Some(note))) => {
                            feed.announced(note.payload());
                            continue;
                        }
                        Ok(Ok(None)) => tracing::warn!("change feed connection lost"),
                        Ok(Err(err)) => tracing::warn!(error = %err, "change feed failed"),
                        Err(_) => tracing::warn!("change feed silent: its connection is dead"),
                    }
                    break;
                }
            }
            Err(err) => tracing::warn!(error = %err, "change feed cannot connect"),
        }
        feed.lost();
        tokio::time::sleep(retry).await;
        // At most a second: the view is back soon after the database is.
        retry = (retry * 2).min(Duration::from_secs(1));
    }
}

async fn listener(options: &PgConnectOptions) -> sqlx::Result<PgListener> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(SILENCE)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool).await?;
    // A lost connection is answered here, by emptying the view, not by a silent reconnect.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Announces that this instance is alive, so every listener hears something each second.
/// On a connection of its own: a pool busy with requests must not delay it into silence.
async fn probe(options: PgConnectOptions, feed: Arc<Feed>) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(PROBE_EVERY)
        .connect_lazy_with(options);
    let payload = Change::probe(feed.instance());
    let mut every = tokio::time::interval(PROBE_EVERY);
    loop {
        every.tick().await;
        let sent = (&pool)
            .execute(
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&payload),
            )
            .await;
        if let Err(err) = sent {
            tracing::debug!(error = %err, "change feed probe not sent");
        }
    }
}

impl RowsAffected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

/// Numbers the events waiting in `pending_events`, in account order: those of a write whose
/// server was killed between its commit and its run would wait for the account's next write.
/// A run numbers only what has committed, and serves anyone: a write waiting for its own run
/// still gets one (which finds nothing, and is its durability barrier all the same).
async fn sequence_waiting(pool: &Pool<Postgres>) -> super::Result<()> {
    let accounts: Vec<(i64,)> =
        sqlx::query_as("SELECT DISTINCT account_pk FROM pending_events ORDER BY account_pk")
            .fetch_all(pool)
            .await?;
    for (account_pk,) in accounts {
        sqlx::query("SELECT sequence_events($1)")
            .bind(account_pk)
            .execute(pool)
            .await?;
    }
    Ok(())
}
