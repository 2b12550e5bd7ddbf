//! A report as CSV (RFC 4180): one row per agent and bucket, the fixed columns first, then
//! one `break.<reasonCode>` column per reason code the report holds, by code.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::ReportRow;

/// The fixed columns, in order (`bucket` empty in a summary, `occupancy` empty when null).
pub const CSV_COLUMNS: [&str; 16] = [
    "agentId",
    "bucket",
    "from",
    "to",
    "available",
    "on_call",
    "wrap_up",
    "on_break",
    "logged_out",
    "breaks",
    "calls",
    "wrapUps",
    "overLimitBreaks",
    "overLimitSeconds",
    "longestBreak",
    "occupancy",
];

/// A text cell: quoted when it must be; one a spreadsheet would run as a formula (`=`, `+`,
/// `@`, a tab or CR first) starts with `'`.
fn text(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

pub fn to_csv(rows: &[ReportRow]) -> String {
    let codes: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.break_seconds.keys().map(String::as_str))
        .collect();
    let mut out = CSV_COLUMNS.join(",");
    for code in &codes {
        out.push(',');
        out.push_str(&text(&format!("break.{code}")));
    }
    out.push_str("\r\n");
    for r in rows {
        let (s, c) = (&r.seconds, &r.counts);
        let bucket = r.bucket.map(|b| b.to_string()).unwrap_or_default();
        let occupancy = r.occupancy.map(|o| o.to_string()).unwrap_or_default();
        let _ = write!(
            out,
            "{},{bucket},{},{},{},{},{},{},{},{},{},{},{},{},{},{occupancy}",
            text(&r.agent_id),
            r.from,
            r.to,
            s.available,
            s.on_call,
            s.wrap_up,
            s.on_break,
            s.logged_out,
            c.breaks,
            c.calls,
            c.wrap_ups,
            c.over_limit_breaks,
            r.over_limit_seconds,
            r.longest_break,
        );
        for code in &codes {
            let seconds = r.break_seconds.get(*code).copied().unwrap_or(0);
            let _ = write!(out, ",{seconds}");
        }
        out.push_str("\r\n");
    }
    out
}
