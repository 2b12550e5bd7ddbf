//! The reports' roll-up: each agent's tally of each local day (the account's time zone),
//! sealed by the sweeper once the day is over, so that a month's report reads a row per
//! agent and day instead of walking a month of events. It is never trusted when it may be
//! stale: the seal names the last event it reflects, and an event written after it but
//! dated before the seal's end (none of the API's changes are; a direct insert, a lagging
//! clock) makes reports walk the events until the sweeper has re-sealed from that day. The
//! answer is the same either way (`Tally::then` composes adjacent windows exactly).

use std::collections::HashMap;

use jiff::tz::TimeZone;

use super::{Result, Service};
use crate::domain::{Bucket, Open, Tally, day_around, next_day, time_zone, walk};
use crate::store::{DayTally, Seal};

/// How long after a day's end it is sealed: events are dated when their transaction
/// starts, so one dated before the end may still be committing just after it.
pub const SEAL_MARGIN_SECS: i64 = 60;

/// Days sealed per sweep, over all accounts (a walk of one account's day each).
pub(super) const DAYS_PER_SWEEP: usize = 8;

impl Service {
    /// Seals the next complete days of the accounts' roll-ups (a bounded number per call),
    /// first dropping what an unseen event, a time-zone change or the retention made stale;
    /// answers how many days it sealed.
    pub async fn roll_up(&self, now: i64) -> Result<usize> {
        let mut budget = DAYS_PER_SWEEP;
        for (account_pk, zone, seal) in self.store.rollup_accounts().await? {
            if budget == 0 {
                break;
            }
            let Some(tz) = time_zone(&zone) else {
                continue;
            };
            let last = self.store.last_event_id(account_pk).await?;
            let Some(was) = self.check_seal(account_pk, &zone, seal, last, now).await? else {
                continue;
            };
            let seal = match &was {
                Some(seal) => seal.clone(),
                None => {
                    let kept_from = self.history_kept_from(now);
                    let Some(at) = self.store.first_change_at(account_pk, kept_from).await? else {
                        continue;
                    };
                    let Some((day, _)) = day_around(at.max(kept_from), &tz) else {
                        continue;
                    };
                    Seal {
                        time_zone: zone.clone(),
                        sealed_from: day,
                        sealed_to: day,
                        watermark: last,
                    }
                }
            };
            budget -= (self.seal_days(account_pk, &tz, was, seal, last, now, budget)).await?;
        }
        Ok(DAYS_PER_SWEEP - budget)
    }

    /// The account's seal as it may be kept, as stored: None (and the rows deleted) when its
    /// zone is not the account's; cut back to the day of the first event it has not seen;
    /// trimmed to the history kept. None outside: another sealer changed it meanwhile.
    async fn check_seal(
        &self,
        account_pk: i64,
        zone: &str,
        seal: Option<Seal>,
        last: i64,
        now: i64,
    ) -> Result<Option<Option<Seal>>> {
        let Some(was) = seal else {
            return Ok(Some(None));
        };
        let mut seal = was.clone();
        let tz = time_zone(zone);
        let Some(tz) = tz.filter(|_| seal.time_zone == zone) else {
            let done = self.store.reseal(account_pk, &was, None).await?;
            return Ok(done.then_some(None));
        };
        let mut changed = false;
        if last > seal.watermark {
            let unseen = (self.store)
                .unseen_change_at(account_pk, seal.watermark, last, seal.sealed_to)
                .await?;
            if let Some(at) = unseen {
                let day = day_around(at, &tz).map_or(i64::MIN, |(day, _)| day);
                seal.sealed_to = day.max(seal.sealed_from);
                tracing::info!(
                    account_pk,
                    at,
                    "report roll-up: re-sealing from an unseen event"
                );
            }
            seal.watermark = last;
            changed = true;
        }
        let kept_from = self.history_kept_from(now);
        if seal.sealed_from < kept_from {
            // The first local midnight at or after kept_from.
            let keep = match day_around(kept_from, &tz) {
                Some((day, _)) if day == kept_from => day,
                Some((_, next)) => next,
                None => kept_from,
            };
            seal.sealed_from = keep.min(seal.sealed_to);
            changed = true;
        }
        if seal.sealed_to <= seal.sealed_from {
            let done = self.store.reseal(account_pk, &was, None).await?;
            return Ok(done.then_some(None));
        }
        if changed && !self.store.reseal(account_pk, &was, Some(&seal)).await? {
            return Ok(None);
        }
        Ok(Some(Some(seal)))
    }

    /// Seals at most `budget` of the account's days after `seal`, each in one transaction
    /// with its rows; a day without a row to keep skips the days up to the account's next
    /// change (nothing was open at its end). Answers how many days it walked.
    #[allow(clippy::too_many_arguments)]
    async fn seal_days(
        &self,
        account_pk: i64,
        tz: &TimeZone,
        mut was: Option<Seal>,
        mut seal: Seal,
        last: i64,
        now: i64,
        budget: usize,
    ) -> Result<usize> {
        let Some((limit, _)) = day_around(now - SEAL_MARGIN_SECS, tz) else {
            return Ok(0);
        };
        let agents = self.store.report_agents(account_pk).await?;
        let pks: Vec<i64> = agents.iter().map(|(pk, _, _)| *pk).collect();
        let mut walked = 0;
        while walked < budget && seal.sealed_to < limit {
            let day = seal.sealed_to;
            let Some(next) = next_day(day, tz) else {
                break;
            };
            let (mut open, mut changes) = (self.store)
                .report_history(account_pk, &pks, day, next)
                .await?;
            let mut rows: Vec<DayTally> = Vec::new();
            for pk in &pks {
                let open = open.remove(pk).unwrap_or_else(Open::default);
                let changes = changes.remove(pk).unwrap_or_default();
                let tally = walk(open, &changes, &[day, next]).remove(0);
                if tally != Tally::logged_out(next - day) {
                    rows.push((*pk, day, tally));
                }
            }
            seal.sealed_to = next;
            if rows.is_empty() {
                // Nobody had anything open at `next`: every day up to the next change is
                // logged out throughout.
                let upto = match self.store.first_change_at(account_pk, next).await? {
                    Some(at) => day_around(at, tz).map_or(next, |(d, _)| d),
                    None => limit,
                };
                seal.sealed_to = upto.min(limit).max(next);
            }
            seal.watermark = last;
            walked += 1;
            if !(self.store.seal_days(account_pk, was.as_ref(), &seal, &rows)).await? {
                break;
            }
            was = Some(seal.clone());
        }
        Ok(walked)
    }

    /// Each agent's tallies of the windows `edges` (increasing, at least two): from the
    /// roll-up for the whole local days it holds (when every edge inside them is a local
    /// midnight and it has seen every event there), walking the events for the rest.
    pub(super) async fn tallies(
        &self,
        account_pk: i64,
        zone: &str,
        pks: &[i64],
        edges: &[i64],
        bucket: Option<Bucket>,
    ) -> Result<HashMap<i64, Vec<Tally>>> {
        let (from, end) = (edges[0], edges[edges.len() - 1]);
        let Some((days, rows)) = self.rolled_days(account_pk, zone, edges, bucket).await? else {
            return self.walk_tallies(account_pk, pks, edges).await;
        };
        let (d0, d1) = (days[0], days[days.len() - 1]);
        // The walked head [from, d0) and tail [d1, end), with the edges inside them.
        let mut head: Vec<i64> = edges.iter().copied().filter(|&e| e < d0).collect();
        head.push(d0);
        let mut tail = vec![d1];
        tail.extend(edges.iter().copied().filter(|&e| e > d1));
        let head_tallies = match from < d0 {
            true => self.walk_tallies(account_pk, pks, &head).await?,
            false => HashMap::new(),
        };
        let tail_tallies = match d1 < end {
            true => self.walk_tallies(account_pk, pks, &tail).await?,
            false => HashMap::new(),
        };
        let mut rows: HashMap<(i64, i64), Tally> = (rows.into_iter())
            .map(|(pk, day, tally)| ((pk, day), tally))
            .collect();
        let mut out = HashMap::with_capacity(pks.len());
        for &pk in pks {
            // The agent's pieces, in time order: (start, tally).
            let mut pieces: Vec<(i64, Tally)> = Vec::new();
            if let Some(tallies) = head_tallies.get(&pk) {
                pieces.extend(head.iter().copied().zip(tallies.iter().cloned()));
            }
            for pair in days.windows(2) {
                let tally = rows.remove(&(pk, pair[0]));
                pieces.push((
                    pair[0],
                    tally.unwrap_or(Tally::logged_out(pair[1] - pair[0])),
                ));
            }
            if let Some(tallies) = tail_tallies.get(&pk) {
                pieces.extend(tail.iter().copied().zip(tallies.iter().cloned()));
            }
            let mut windows = vec![Tally::default(); edges.len() - 1];
            let mut w = 0;
            for (start, tally) in pieces {
                while start >= edges[w + 1] {
                    w += 1;
                }
                windows[w] = std::mem::take(&mut windows[w]).then(&tally);
            }
            out.insert(pk, windows);
        }
        Ok(out)
    }

    /// The walk over the events, as every report did before the roll-up.
    async fn walk_tallies(
        &self,
        account_pk: i64,
        pks: &[i64],
        edges: &[i64],
    ) -> Result<HashMap<i64, Vec<Tally>>> {
        let (from, end) = (edges[0], edges[edges.len() - 1]);
        let (mut open, mut changes) = (self.store)
            .report_history(account_pk, pks, from, end)
            .await?;
        Ok(pks
            .iter()
            .map(|pk| {
                let open = open.remove(pk).unwrap_or_else(Open::default);
                let changes = changes.remove(pk).unwrap_or_default();
                (*pk, walk(open, &changes, edges))
            })
            .collect())
    }

    /// The local midnights `d0 < … < d1` whose days the roll-up can answer for this report,
    /// and their rows; None when it cannot answer for a whole day of it.
    async fn rolled_days(
        &self,
        account_pk: i64,
        zone: &str,
        edges: &[i64],
        bucket: Option<Bucket>,
    ) -> Result<Option<(Vec<i64>, Vec<DayTally>)>> {
        let (from, end) = (edges[0], edges[edges.len() - 1]);
        let Some(tz) = time_zone(zone).filter(|_| bucket != Some(Bucket::Hour)) else {
            return Ok(None);
        };
        if end - from < 86_400 - 3600 {
            return Ok(None);
        }
        let Some(seal) = self.store.report_seal(account_pk).await? else {
            return Ok(None);
        };
        let (Some((from_day, from_next)), Some((end_day, _))) =
            (day_around(from, &tz), day_around(end, &tz))
        else {
            return Ok(None);
        };
        let d0 = (if from_day == from { from } else { from_next }).max(seal.sealed_from);
        let d1 = end_day.min(seal.sealed_to);
        if seal.time_zone != zone || d0 >= d1 {
            return Ok(None);
        }
        let mut days = vec![d0];
        while days[days.len() - 1] < d1 {
            match next_day(days[days.len() - 1], &tz) {
                Some(next) => days.push(next),
                None => return Ok(None),
            }
        }
        let inside = edges.iter().filter(|&&e| e > d0 && e < d1);
        if days[days.len() - 1] != d1 || inside.into_iter().any(|e| days.binary_search(e).is_err())
        {
            return Ok(None);
        }
        let unseen = (self.store)
            .unseen_change_at(account_pk, seal.watermark, i64::MAX, d1)
            .await?;
        if unseen.is_some() {
            return Ok(None);
        }
        let rows = self.store.report_days(account_pk, d0, d1).await?;
        // The seal and the rows are two reads: the seal unchanged after the rows were read
        // (every change to it changes it), they are of one roll-up.
        if self.store.report_seal(account_pk).await?.as_ref() != Some(&seal) {
            return Ok(None);
        }
        Ok(Some((days, rows)))
    }
}
