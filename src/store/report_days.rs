//! The reports' roll-up (see `service::rollup`): per agent and local day, the tally a walk
//! over that day answered, and per account the seal saying which days are rolled up and up
//! to which event. Written by the sweeper only; the request path never writes here.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use crate::domain::{ReportCounts, STATE_KINDS, StateSeconds, Tally};

/// An account's roll-up: its days `[sealed_from, sealed_to)` (local midnights in
/// `time_zone`) are rolled up, and every event of the account up to id `watermark` is in them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Seal {
    pub time_zone: String,
    pub sealed_from: i64,
    pub sealed_to: i64,
    pub watermark: i64,
}

/// One agent's tally of one day: (agent pk, day start, tally).
pub type DayTally = (i64, i64, Tally);

#[async_trait]
pub trait RollUps: Send + Sync {
    /// Every account (pk, time zone), with its seal if it has one.
    async fn rollup_accounts(&self) -> Result<Vec<(i64, String, Option<Seal>)>>;
    /// The account's seal.
    async fn report_seal(&self, account_pk: i64) -> Result<Option<Seal>>;
    /// The account's newest event id (0 when it has none).
    async fn last_event_id(&self, account_pk: i64) -> Result<i64>;
    /// The time of the account's first state-changing event at or after `from`.
    async fn first_change_at(&self, account_pk: i64, from: i64) -> Result<Option<i64>>;
    /// The earliest time of the account's state-changing events with an id in
    /// `(after, upto]` and a time before `before`: events the roll-up has not seen.
    async fn unseen_change_at(
        &self,
        account_pk: i64,
        after: i64,
        upto: i64,
        before: i64,
    ) -> Result<Option<i64>>;
    /// In one transaction, if the account's seal is still `was`: the new seal and the rows of
    /// its new days (from the first row's day to `seal.sealed_to`; rows left there from an
    /// earlier seal are replaced). False (nothing written) when the seal has changed.
    async fn seal_days(
        &self,
        account_pk: i64,
        was: Option<&Seal>,
        seal: &Seal,
        rows: &[DayTally],
    ) -> Result<bool>;
    /// If the account's seal is still `was`: sets it to `seal` (None: deletes it), deleting
    /// the rows outside its days. False (nothing written) when the seal has changed.
    async fn reseal(&self, account_pk: i64, was: &Seal, seal: Option<&Seal>) -> Result<bool>;
    /// The rolled-up rows of the account's days starting in `[from, to)`.
    async fn report_days(&self, account_pk: i64, from: i64, to: i64) -> Result<Vec<DayTally>>;
}

#[derive(sqlx::FromRow)]
pub struct DayRow {
    agent_pk: i64,
    day_start: i64,
    available: i64,
    on_call: i64,
    wrap_up: i64,
    on_break: i64,
    logged_out: i64,
    breaks: i64,
    calls: i64,
    wrap_ups: i64,
    over_limit_breaks: i64,
    over_limit_seconds: i64,
    longest_break: i64,
    lead: i64,
    trail: i64,
    reset: bool,
    break_seconds: String,
}

impl From<DayRow> for DayTally {
    fn from(r: DayRow) -> Self {
        let break_seconds: BTreeMap<String, i64> =
            serde_json::from_str(&r.break_seconds).unwrap_or_default();
        let tally = Tally {
            seconds: StateSeconds {
                available: r.available,
                on_call: r.on_call,
                wrap_up: r.wrap_up,
                on_break: r.on_break,
                logged_out: r.logged_out,
            },
            break_seconds,
            counts: ReportCounts {
                breaks: r.breaks,
                calls: r.calls,
                wrap_ups: r.wrap_ups,
                over_limit_breaks: r.over_limit_breaks,
            },
            over_limit_seconds: r.over_limit_seconds,
            longest_break: r.longest_break,
            lead: r.lead,
            trail: r.trail,
            reset: r.reset,
        };
        (r.agent_pk, r.day_start, tally)
    }
}

#[derive(sqlx::FromRow)]
pub struct SealRow {
    account_pk: i64,
    time_zone: String,
    sealed_from: Option<i64>,
    sealed_to: Option<i64>,
    watermark: Option<i64>,
    seal_zone: Option<String>,
}

/// Rows per INSERT statement (18 binds each: under SQLite's and PostgreSQL's limits).
const INSERT_CHUNK: usize = 500;

const DAY_COLUMNS: &str = "account_pk, day_start, agent_pk, available, on_call, wrap_up, \
     on_break, logged_out, breaks, calls, wrap_ups, over_limit_breaks, over_limit_seconds, \
     longest_break, lead, trail, reset, break_seconds";

#[async_trait]
impl<DB: Backend> RollUps for SqlStore<DB> {
    async fn rollup_accounts(&self) -> Result<Vec<(i64, String, Option<Seal>)>> {
        let rows: Vec<SealRow> = Sql::<DB>::new(
            "SELECT a.id AS account_pk, a.time_zone, s.sealed_from, s.sealed_to, s.watermark,
                    s.time_zone AS seal_zone
             FROM accounts a LEFT JOIN report_seals s ON s.account_pk = a.id ORDER BY a.id",
        )
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let seal = match (r.seal_zone, r.sealed_from, r.sealed_to, r.watermark) {
                    (Some(time_zone), Some(sealed_from), Some(sealed_to), Some(watermark)) => {
                        Some(Seal {
                            time_zone,
                            sealed_from,
                            sealed_to,
                            watermark,
                        })
                    }
                    _ => None,
                };
                (r.account_pk, r.time_zone, seal)
            })
            .collect())
    }

    async fn report_seal(&self, account_pk: i64) -> Result<Option<Seal>> {
        Sql::<DB>::new(
            "SELECT time_zone, sealed_from, sealed_to, watermark FROM report_seals
             WHERE account_pk = $1",
        )
        .bind(account_pk)
        .fetch_optional(&mut *self.conn().await?)
        .await
    }

    async fn last_event_id(&self, account_pk: i64) -> Result<i64> {
        let row: Option<(i64,)> =
            Sql::<DB>::new("SELECT id FROM events WHERE account_pk = $1 ORDER BY id DESC LIMIT 1")
                .bind(account_pk)
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        Ok(row.map_or(0, |(id,)| id))
    }

    async fn first_change_at(&self, account_pk: i64, from: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = Sql::<DB>::new(&format!(
            "SELECT at FROM events WHERE account_pk = $1 AND at >= $2 AND kind IN ({})
             ORDER BY at LIMIT 1",
            state_kinds()
        ))
        .bind(account_pk)
        .bind(from)
        .fetch_optional(&mut *self.conn().await?)
        .await?;
        Ok(row.map(|(at,)| at))
    }

    async fn unseen_change_at(
        &self,
        account_pk: i64,
        after: i64,
        upto: i64,
        before: i64,
    ) -> Result<Option<i64>> {
        // In id order, so that the index read is `events (account_pk, id)` from the
        // watermark on (what was written since: a sweep's worth), never the account's history.
        let rows: Vec<(i64,)> = Sql::<DB>::new(&format!(
            "SELECT at FROM events WHERE account_pk = $1 AND id > $2 AND id <= $3 AND at < $4
                 AND kind IN ({})
             ORDER BY id",
            state_kinds()
        ))
        .bind(account_pk)
        .bind(after)
        .bind(upto)
        .bind(before)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(|(at,)| at).min())
    }

    async fn seal_days(
        &self,
        account_pk: i64,
        was: Option<&Seal>,
        seal: &Seal,
        rows: &[DayTally],
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        if !swap_seal::<DB>(&mut tx, account_pk, was, Some(seal)).await? {
            return Ok(false);
        }
        let first = rows.iter().map(|r| r.1).min().unwrap_or(seal.sealed_to);
        Sql::<DB>::new(
            "DELETE FROM report_days WHERE account_pk = $1 AND day_start >= $2
                 AND day_start < $3",
        )
        .bind(account_pk)
        .bind(first)
        .bind(seal.sealed_to)
        .execute(&mut *tx)
        .await?;
        for chunk in rows.chunks(INSERT_CHUNK) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let binds: Vec<String> = (1..=18).map(|k| format!("${}", i * 18 + k)).collect();
                    format!("({})", binds.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO report_days ({DAY_COLUMNS}) VALUES {}",
                values.join(", ")
            );
            let mut insert = Sql::<DB>::new(&sql);
            for (agent_pk, day_start, t) in chunk {
                let (s, c) = (&t.seconds, &t.counts);
                insert = insert
                    .bind(account_pk)
                    .bind(*day_start)
                    .bind(*agent_pk)
                    .bind(s.available)
                    .bind(s.on_call)
                    .bind(s.wrap_up)
                    .bind(s.on_break)
                    .bind(s.logged_out)
                    .bind(c.breaks)
                    .bind(c.calls)
                    .bind(c.wrap_ups)
                    .bind(c.over_limit_breaks)
                    .bind(t.over_limit_seconds)
                    .bind(t.longest_break)
                    .bind(t.lead)
                    .bind(t.trail)
                    .bind(t.reset)
                    .bind(serde_json::to_string(&t.break_seconds).unwrap_or_default());
            }
            insert.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn reseal(&self, account_pk: i64, was: &Seal, seal: Option<&Seal>) -> Result<bool> {
        let mut tx = self.begin().await?;
        if !swap_seal::<DB>(&mut tx, account_pk, Some(was), seal).await? {
            return Ok(false);
        }
        let (from, to) = seal.map_or((i64::MAX, i64::MAX), |s| (s.sealed_from, s.sealed_to));
        Sql::<DB>::new(
            "DELETE FROM report_days WHERE account_pk = $1 AND (day_start < $2 OR day_start >= $3)",
        )
        .bind(account_pk)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn report_days(&self, account_pk: i64, from: i64, to: i64) -> Result<Vec<DayTally>> {
        let rows: Vec<DayRow> = Sql::<DB>::new(&format!(
            "SELECT {DAY_COLUMNS} FROM report_days
             WHERE account_pk = $1 AND day_start >= $2 AND day_start < $3"
        ))
        .bind(account_pk)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *self.conn().await?)
        .await?;
        Ok(rows.into_iter().map(DayTally::from).collect())
    }
}

fn state_kinds() -> String {
    STATE_KINDS.map(|k| format!("'{k}'")).join(", ")
}

/// Replaces the account's seal `was` (None: there is none) by `seal` (None: deletes it);
/// false when `was` is not what is stored (another sealer got there first).
async fn swap_seal<DB: Backend>(
    tx: &mut super::tx::Tx<DB>,
    account_pk: i64,
    was: Option<&Seal>,
    seal: Option<&Seal>,
) -> Result<bool> {
    let Some(was) = was else {
        let Some(seal) = seal else {
            return Ok(true);
        };
        let inserted = Sql::<DB>::new(
            "INSERT INTO report_seals (account_pk, time_zone, sealed_from, sealed_to, watermark)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_pk) DO NOTHING",
        )
        .bind(account_pk)
        .bind(seal.time_zone.as_str())
        .bind(seal.sealed_from)
        .bind(seal.sealed_to)
        .bind(seal.watermark)
        .execute(tx)
        .await?;
        return Ok(inserted == 1);
    };
    let same = "account_pk = $1 AND time_zone = $2 AND sealed_from = $3 AND sealed_to = $4
                AND watermark = $5";
    let sql = match seal {
        Some(_) => format!(
            "UPDATE report_seals SET time_zone = $6, sealed_from = $7, sealed_to = $8,
                 watermark = $9 WHERE {same}"
        ),
        None => format!("DELETE FROM report_seals WHERE {same}"),
    };
    let mut query = Sql::<DB>::new(&sql)
        .bind(account_pk)
        .bind(was.time_zone.as_str())
        .bind(was.sealed_from)
        .bind(was.sealed_to)
        .bind(was.watermark);
    if let Some(seal) = seal {
        query = query
            .bind(seal.time_zone.as_str())
            .bind(seal.sealed_from)
            .bind(seal.sealed_to)
            .bind(seal.watermark);
    }
    Ok(query.execute(tx).await? == 1)
}
