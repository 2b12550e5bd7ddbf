//! What the store asks of a database, and the query builder its SQL runs through.
//!
//! The SQL is the subset PostgreSQL and SQLite share (`$n` binds, `RETURNING`, partial unique
//! indexes). Generic sqlx code normally repeats a long `where` clause (every bound type, the
//! executor, the row decoders) on every impl; here [`Backend`] states those facts once, as
//! supertraits, so each store file is a plain `impl<DB: Backend> … for SqlStore<DB>`.
//! [`Sql`] is a thin builder over `sqlx::query` that asks for nothing but `DB: Backend`.
//! What really differs between the databases (connecting, migrations, how a write transaction
//! begins) is in `postgres.rs` and `sqlite.rs`.

use sqlx::pool::PoolOptions;
use sqlx::query::Query;
use sqlx::{Connection, Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use std::sync::Arc;
use std::time::Duration;

use super::{Result, StoreError, StoreOptions};
use crate::domain::{
    Account, Agent, Break, BreakReason, Call, CallDirection, CallOutcome, EventKind, MicPerm,
    Presence, Scope, Token, WrapMode, WrapUp,
};
use crate::live::{Change, Feed, PendingPings};

type Args<'q, DB> = <DB as Database>::Arguments<'q>;
/// What sqlx's executors answer (the same type as `futures::future::BoxFuture`).
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// `DB` takes a `T` as a bind parameter.
pub trait Bind<'q, T>: Database {
    fn bind(query: Query<'q, Self, Args<'q, Self>>, value: T) -> Query<'q, Self, Args<'q, Self>>;
}

impl<'q, T: 'q + Encode<'q, DB> + Type<DB>, DB: Database> Bind<'q, T> for DB {
    fn bind(query: Query<'q, DB, Args<'q, DB>>, value: T) -> Query<'q, DB, Args<'q, DB>> {
        query.bind(value)
    }
}

/// `DB` reads a `T` from one of its rows.
pub trait Decode<T>: Database {
    fn decode(row: &Self::Row) -> sqlx::Result<T>;
}

impl<T: for<'r> FromRow<'r, DB::Row>, DB: Database> Decode<T> for DB {
    fn decode(row: &DB::Row) -> sqlx::Result<T> {
        T::from_row(row)
    }
}

/// `DB` runs queries on its connections.
pub trait Run: Database {
    fn fetch_all<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self, Args<'q, Self>>,
    ) -> BoxFuture<'c, sqlx::Result<Vec<Self::Row>>>;
    fn fetch_optional<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self, Args<'q, Self>>,
    ) -> BoxFuture<'c, sqlx::Result<Option<Self::Row>>>;
    fn execute<'c, 'q: 'c>(
        conn: &'c mut Self::Connection,
        query: Query<'q, Self, Args<'q, Self>>,
    ) -> BoxFuture<'c, sqlx::Result<Self::QueryResult>>;
}

impl<DB: Database> Run for DB
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> Args<'q, DB>: IntoArguments<'q, DB>,
{
    fn fetch_all<'c, 'q: 'c>(
        conn: &'c mut DB::Connection,
        query: Query<'q, DB, Args<'q, DB>>,
    ) -> BoxFuture<'c, sqlx::Result<Vec<DB::Row>>> {
        Box::pin(query.fetch_all(conn))
    }
    fn fetch_optional<'c, 'q: 'c>(
        conn: &'c mut DB::Connection,
        query: Query<'q, DB, Args<'q, DB>>,
    ) -> BoxFuture<'c, sqlx::Result<Option<DB::Row>>> {
        Box::pin(query.fetch_optional(conn))
    }
    fn execute<'c, 'q: 'c>(
        conn: &'c mut DB::Connection,
        query: Query<'q, DB, Args<'q, DB>>,
    ) -> BoxFuture<'c, sqlx::Result<DB::QueryResult>> {
        Box::pin(query.execute(conn))
    }
}

/// How many rows a statement changed.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// A database the store runs on: what it binds, what it reads, how it starts.
/// Adding a bind type or a row type to the SQL means adding it here.
#[rustfmt::skip]
pub trait Backend:
    Database<QueryResult: RowsAffected> + Sync + Run
    + for<'q> Bind<'q, i64> + for<'q> Bind<'q, Option<i64>> + for<'q> Bind<'q, bool>
    + for<'q> Bind<'q, Option<bool>> + for<'q> Bind<'q, &'q str> + for<'q> Bind<'q, Option<&'q str>>
    + for<'q> Bind<'q, String> + for<'q> Bind<'q, WrapMode> + for<'q> Bind<'q, Option<WrapMode>>
    + for<'q> Bind<'q, MicPerm> + for<'q> Bind<'q, EventKind> + for<'q> Bind<'q, Presence>
    + for<'q> Bind<'q, Scope> + for<'q> Bind<'q, CallDirection> + for<'q> Bind<'q, CallOutcome>
    + Decode<Token> + Decode<Call>
    + Decode<Account> + Decode<Agent> + Decode<Break> + Decode<BreakReason> + Decode<WrapUp>
    + Decode<(i64,)> + Decode<(i64, i64)>
    + Decode<(i64, i64, String, i64)> + Decode<super::accounts::TokenRow>
    + Decode<super::sessions::SessionRow> + Decode<super::history::EventRow>
    + Decode<super::agents::AgentRow> + Decode<super::stream::PresenceRow>
    + Decode<super::stream::AddressedEventRow> + Decode<super::tags::TagRow>
    + Decode<super::roster::RosterRow> + Decode<super::roster::AccountCounts>
    + Decode<super::roster::AgentCounts> + Decode<(i64, String, i64)>
    + Decode<super::reports::OpenRow> + Decode<super::reports::ChangeRow>
    + Decode<super::report_days::DayRow> + Decode<super::report_days::SealRow>
    + Decode<super::report_days::Seal>
    + Decode<super::roster::AgentCounts> + Decode<super::webhooks::WebhookRow>
    + Decode<crate::domain::DeliveryAttempt> + Decode<(i64, Option<i64>)>
{
    /// `postgres` or `sqlite`.
    const KIND: &'static str;
    /// The statement that opens a write transaction.
    const BEGIN: &'static str;
    /// The statement that opens a write transaction on one agent and locks its row, failing
    /// with SQLSTATE `APDIS` when the agent is disabled (see `SqlStore::begin_on_agent`);
    /// None: [`Self::BEGIN`], then a statement of its own.
    fn begin_on_agent(agent_pk: i64) -> Option<String>;
    /// Opens the pool.
    fn connect(options: &StoreOptions) -> BoxFuture<'static, Result<Pool<Self>>>;
    /// Applies this database's migrations.
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<()>>;
    /// Ends a write transaction: records its history `events` (sorted by account), announces
    /// `notes` (changes that no event records) on the feed and commits, with the events' ids
    /// in the order given where it knows them. Durable when it answers, unless not `durable`
    /// (a write without events: then committed) or it recorded events: those are durable
    /// once [`Self::sequenced`] for their accounts answers. Each account's event ids follow
    /// the order in which they become visible: on PostgreSQL they are given by the account's
    /// group commit (`pg_commit.rs`); SQLite serialises writers.
    fn finish<'c>(
        conn: &'c mut Self::Connection,
        events: &'c [NewEvent],
        notes: &'c [Change],
        instance: u64,
        durable: bool,
    ) -> BoxFuture<'c, Finished>;
    /// The pool of the connections the group commit's runs take ([`Self::sequenced`]): on
    /// PostgreSQL a small one of its own, so that the writes waiting for a run hold no
    /// connection of `main`'s (they capped how many writes a run could serve).
    fn runs_pool(main: &Pool<Self>, _options: &StoreOptions) -> Result<Pool<Self>> {
        Ok(main.clone())
    }
    /// Returns once the events of `account_pk` that writes committed before the call are
    /// numbered and durable: on PostgreSQL, after a run of the account's group commit
    /// (`pg_commit.rs`) that began after the call, on a connection of `runs`; on SQLite at
    /// once (its commits number and flush them).
    fn sequenced<'a>(
        _runs: &'a Pool<Self>,
        _turns: &'a super::group_commit::Turns,
        _account_pk: i64,
    ) -> BoxFuture<'a, sqlx::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// Whether a break's start or end may be sent whole, as one statement ([`Self::at_once`]);
    /// not on SQLite, whose writes cost no round trips.
    const AT_ONCE: bool = false;
    /// Runs `call` and records its `event`, in one statement and one transaction (see
    /// `pg_at_once.rs`): durable once [`Self::sequenced`] answers. Only where [`Self::AT_ONCE`].
    fn at_once<'c>(
        _conn: &'c mut Self::Connection,
        _call: AtOnceCall,
        _event: &'c NewEvent,
        _instance: u64,
    ) -> BoxFuture<'c, AtOnce> {
        Box::pin(async { AtOnce::Stale })
    }
    /// A subquery of the ids in the JSON array bound at `param` (e.g. `$4`).
    fn json_ids(param: &str) -> String;
    /// Writes pending heartbeats in one statement per table, never over a newer one, never
    /// to a disabled agent or an ended session, and never a row it would not change (a ping in
    /// the second already written, with the same client time): under a steady stream of
    /// heartbeats most flushes then write nothing, and leave the database's CPU to the rest.
    fn flush_pings<'c>(
        conn: &'c mut Self::Connection,
        pings: &'c PendingPings,
    ) -> BoxFuture<'c, Result<()>>;
    /// Follows the changes other processes commit, for as long as it is polled: on
    /// PostgreSQL a listener connection (the view is off whenever it is down); on SQLite a
    /// poll of the file's `events` and `feed_changes`.
    fn follow(pool: &Pool<Self>, feed: Arc<Feed>) -> BoxFuture<'static, ()>;
    /// Tidies after the writes, every few seconds: on PostgreSQL, numbers the events that
    /// writes left waiting with no run to come (their server was killed; `pg_commit.rs`) and
    /// vacuums `pending_events`, whose rows each live a few milliseconds: left to autovacuum
    /// (a minute apart at best), its dead rows slowed every run, and with them every write,
    /// to half its rate within a minute of steady load.
    fn tidy(_pool: &Pool<Self>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// Takes this lease if no other instance holds it.
    fn lease(
        pool: &Pool<Self>,
        which: super::LeaseOf,
    ) -> BoxFuture<'static, Result<Option<super::Lease>>>;
}

/// The pool options of every pool: at most `max` connections, waiting `acquire_timeout`
/// for one. sqlx pings each connection when it is given back, and by default again before
/// it is handed out: a round trip per use, a fifth of a break change's. Here only those idle
/// for more than [`PING_IDLE_AFTER`] are pinged before use (the database may have closed
/// them meanwhile); the others were pinged when given back, moments before.
pub fn pool_options<DB: Database>(max: u32, acquire_timeout: Duration) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn: &mut DB::Connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IDLE_AFTER {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// How long a connection may sit idle before it is pinged before use.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// A history event, inserted when its transaction commits ([`Backend::finish`]).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub account_pk: i64,
    /// None: an event of the account itself.
    pub agent_pk: Option<i64>,
    pub kind: EventKind,
    pub actor: String,
    pub at: i64,
    /// A JSON object.
    pub details: String,
}

/// What [`Backend::finish`] answers once committed: the events' ids, each where known
/// (PostgreSQL's group commit numbers them in a run another write may make).
pub type Finished = std::result::Result<Vec<Option<i64>>, Unfinished>;

/// A change sent whole, as one statement ([`Backend::at_once`]), with what the caller knows
/// of it beforehand (which the database checks).
#[derive(Debug)]
pub enum AtOnceCall {
    /// A break start, for the reason `name` resolved to before.
    Start {
        agent_pk: i64,
        account_pk: i64,
        name: String,
        reason: BreakReason,
        now: i64,
    },
    /// The end of the open break `known`.
    End {
        agent_pk: i64,
        known: Break,
        now: i64,
    },
}

/// What a write sent whole in one message came to ([`Backend::at_once`]).
#[derive(Debug)]
pub enum AtOnce {
    /// Committed; durable once its account's run ([`Backend::sequenced`]) answers.
    Done,
    /// Not as the caller knew it: nothing was written; it takes the long way.
    Stale,
    /// Refused: nothing was written.
    Refused(StoreError),
    /// Failed, and may have committed: its connection is not reused.
    Unknown(StoreError),
}

/// Why a write did not finish, and whether it may have committed all the same (the
/// connection is then in an unknown state, and is not reused).
#[derive(Debug)]
pub struct Unfinished {
    pub err: StoreError,
    pub may_have_committed: bool,
}

impl Unfinished {
    /// Refused before the commit was sent: nothing was committed.
    pub fn before_commit(err: impl Into<StoreError>) -> Self {
        Unfinished {
            err: err.into(),
            may_have_committed: false,
        }
    }

    /// Failed once the commit was sent.
    pub fn after_commit(err: impl Into<StoreError>) -> Self {
        Unfinished {
            err: err.into(),
            may_have_committed: true,
        }
    }
}

/// A query of the store's SQL, bound and run like `sqlx::query`.
pub struct Sql<'q, DB: Backend> {
    query: Query<'q, DB, Args<'q, DB>>,
}

impl<'q, DB: Backend> Sql<'q, DB> {
    pub fn new(sql: &'q str) -> Self {
        Sql {
            query: sqlx::query(sql),
        }
    }

    pub fn bind<T>(self, value: T) -> Self
    where
        DB: Bind<'q, T>,
    {
        Sql {
            query: DB::bind(self.query, value),
        }
    }

    pub async fn fetch_all<T>(self, conn: &mut DB::Connection) -> Result<Vec<T>>
    where
        DB: Decode<T>,
    {
        let rows = DB::fetch_all(conn, self.query).await?;
        Ok(rows.iter().map(DB::decode).collect::<sqlx::Result<_>>()?)
    }

    pub async fn fetch_optional<T>(self, conn: &mut DB::Connection) -> Result<Option<T>>
    where
        DB: Decode<T>,
    {
        let row = DB::fetch_optional(conn, self.query).await?;
        Ok(row.as_ref().map(DB::decode).transpose()?)
    }

    pub async fn fetch_one<T>(self, conn: &mut DB::Connection) -> Result<T>
    where
        DB: Decode<T>,
    {
        self.fetch_optional(conn)
            .await?
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs it; returns how many rows it changed.
    pub async fn execute(self, conn: &mut DB::Connection) -> Result<u64> {
        Ok(DB::execute(conn, self.query).await?.rows_affected())
    }
}
