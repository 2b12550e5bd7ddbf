//! Time-in-state reports over the history (see `domain::report` for the walk), the account's
//! time zone their days follow, and the history's retention.

use super::{Result, Service, ServiceError};
use crate::domain::{
    Account, Bucket, ReportRow, bucket_count, next_day, parse_time, time_zone, windows,
};

/// The longest period one request may cover.
pub const MAX_PERIOD_DAYS: i64 = 93;

/// The most rows (agents × buckets) one request may answer.
pub const MAX_REPORT_ROWS: i64 = 100_000;

/// Events deleted per statement by the sweeper.
const RETENTION_BATCH: i64 = 1000;

/// What a report covers. `from`, `to`: Unix seconds or ISO 8601 (a date or a date and time
/// without an offset are in the account's zone); by default today in the account's zone,
/// `to` the end of `from`'s day. `agent_ids`: empty for every agent of the account.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    pub from: Option<String>,
    pub to: Option<String>,
    pub bucket: Option<Bucket>,
    pub agent_ids: Vec<String>,
}

impl Service {
    /// One row per agent (by agentId) and bucket (in time order): the time each spent in
    /// each state in `[from, min(to, now))`.
    pub async fn report(
        &self,
        account: &Account,
        request: &ReportRequest,
        now: i64,
    ) -> Result<Vec<ReportRow>> {
        let tz = time_zone(&account.time_zone).ok_or(ServiceError::UnknownTimeZone)?;
        let read = |t: &Option<String>| match t {
            None => Ok(None),
            Some(t) => parse_time(t, &tz).map(Some).ok_or(ServiceError::BadPeriod),
        };
        let (from, to) = (read(&request.from)?, read(&request.to)?);
        let from = match (from, to) {
            (Some(from), _) => from,
            (None, Some(to)) => {
                crate::domain::day_around(to - 1, &tz)
                    .ok_or(ServiceError::BadPeriod)?
                    .0
            }
            (None, None) => {
                crate::domain::day_around(now, &tz)
                    .ok_or(ServiceError::BadPeriod)?
                    .0
            }
        };
        let to = match to {
            Some(to) => to,
            None => next_day(from, &tz).ok_or(ServiceError::BadPeriod)?,
        };
        if to <= from {
            return Err(ServiceError::BadPeriod);
        }
        if to - from > MAX_PERIOD_DAYS * 86_400 {
            return Err(ServiceError::PeriodTooLong);
        }
        let kept_from = self.history_kept_from(now);
        if from < kept_from {
            return Err(ServiceError::BeforeRetention(kept_from));
        }
        let agents = self.report_agents(account, &request.agent_ids).await?;
        let end = to.min(now).max(from);
        if agents.len() as i64 * bucket_count(from, end, request.bucket) > MAX_REPORT_ROWS {
            return Err(ServiceError::PeriodTooLong);
        }
        let (starts, edges) =
            windows(from, end, request.bucket, &tz).ok_or(ServiceError::BadPeriod)?;
        let pks: Vec<i64> = agents.iter().map(|(pk, _)| *pk).collect();
        let mut tallies = self
            .tallies(account.id, &account.time_zone, &pks, &edges, request.bucket)
            .await?;
        let mut rows = Vec::with_capacity(agents.len() * starts.len());
        for (pk, agent_id) in &agents {
            let tallies = tallies.remove(pk).unwrap_or_default();
            for (i, tally) in tallies.into_iter().enumerate() {
                let bucket = request.bucket.map(|_| starts[i]);
                rows.push(ReportRow::new(
                    agent_id,
                    bucket,
                    edges[i],
                    edges[i + 1],
                    tally,
                ));
            }
        }
        Ok(rows)
    }

    /// The agents a report covers: those named (each must be the account's: `NotFound`), or
    /// every agent of the account.
    async fn report_agents(
        &self,
        account: &Account,
        named: &[String],
    ) -> Result<Vec<(i64, String)>> {
        let all = self.store.report_agents(account.id).await?;
        if named.is_empty() {
            return Ok(all.into_iter().map(|(pk, id, _)| (pk, id)).collect());
        }
        let mut agents = Vec::new();
        for wanted in named {
            let found = all.iter().find(|(_, id, _)| id == wanted.trim());
            let (pk, id, _) = found.ok_or(ServiceError::NotFound)?;
            if !agents.iter().any(|(p, _)| p == pk) {
                agents.push((*pk, id.clone()));
            }
        }
        agents.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(agents)
    }

    /// The first instant whose history is kept (`i64::MIN` when it is kept forever).
    pub fn history_kept_from(&self, now: i64) -> i64 {
        match self.config.events_retention_days {
            0 => i64::MIN,
            days => now - days * 86_400,
        }
    }

    /// Sets the account's time zone: an IANA name (`Europe/Berlin`) or `UTC`.
    pub async fn set_time_zone(&self, account: &Account, name: &str) -> Result<Account> {
        let name = name.trim();
        time_zone(name).ok_or(ServiceError::UnknownTimeZone)?;
        Ok(self.store.set_account_time_zone(account.id, name).await?)
    }

    /// Deletes the events older than `EVENTS_RETENTION_DAYS` (none when it is 0), in
    /// batches; answers how many.
    pub async fn sweep_events(&self, now: i64) -> Result<u64> {
        let before = self.history_kept_from(now);
        if before == i64::MIN {
            return Ok(0);
        }
        let mut deleted = 0;
        loop {
            let batch = self
                .store
                .delete_events_before(before, RETENTION_BATCH)
                .await?;
            deleted += batch;
            if batch < RETENTION_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }
}
