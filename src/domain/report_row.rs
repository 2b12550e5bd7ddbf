//! A report's row: one agent in one window (a bucket, or the whole period), as the API, the
//! CSV and the CLI answer it.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::report::{StateCounts, StateSeconds, Tally};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    pub agent_id: String,
    /// The bucket's start (Unix seconds), when the report has buckets: it may be before
    /// `from`, where the period starts inside the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<i64>,
    /// The window counted, Unix seconds, `[from, to)`; `to` stops at now. Its `seconds` add
    /// up to `to − from`.
    pub from: i64,
    pub to: i64,
    pub seconds: StateSeconds,
    /// Seconds on break by reason code; they add up to `seconds.on_break`.
    pub break_seconds: BTreeMap<String, i64>,
    pub counts: StateCounts,
    /// Seconds on break past the break's limit.
    pub over_limit_seconds: i64,
    /// The longest stretch of one break inside the window, in seconds.
    pub longest_break: i64,
    /// (on_call + wrap_up) / (logged in − on_break), 4 decimals; null when that is 0.
    pub occupancy: Option<f64>,
}

impl ReportRow {
    pub fn new(agent_id: &str, bucket: Option<i64>, from: i64, to: i64, tally: Tally) -> Self {
        let occupancy = tally.occupancy();
        ReportRow {
            agent_id: agent_id.to_owned(),
            bucket,
            from,
            to,
            seconds: tally.seconds,
            break_seconds: tally.break_seconds,
            counts: tally.counts,
            over_limit_seconds: tally.over_limit_seconds,
            longest_break: tally.longest_break,
            occupancy,
        }
    }
}
