//! Times as the CLI reads and prints them: RFC 3339, in the local time zone or in UTC.

use clap::Args;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// How times are printed.
#[derive(Debug, Clone, Copy, Args)]
pub struct Times {
    /// Print times in UTC (default: the local time zone, from TZ or /etc/localtime).
    #[arg(long)]
    pub utc: bool,
}

impl Times {
    /// `unix` (seconds) as RFC 3339, e.g. `2026-12-06T09:30:00+01:00` or `…T08:30:00Z`.
    pub fn show(self, unix: i64) -> String {
        let Ok(at) = Timestamp::from_second(unix) else {
            return unix.to_string();
        };
        if self.utc {
            at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
        } else {
            at.to_zoned(TimeZone::system())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        }
    }

    /// An optional time, `-` when absent.
    pub fn show_opt(self, unix: Option<i64>) -> String {
        unix.map_or_else(|| "-".to_owned(), |t| self.show(t))
    }
}

/// A time given on the command line: RFC 3339 (`2026-12-06T09:00:00Z`, `…+01:00`) or Unix
/// seconds.
pub fn parse_time(value: &str) -> Result<i64, String> {
    if let Ok(unix) = value.parse::<i64>() {
        return Ok(unix);
    }
    value
        .parse::<Timestamp>()
        .map(|t| t.as_second())
        .map_err(|_| {
            format!("{value:?} is neither RFC 3339 (2026-12-06T09:00:00Z) nor Unix seconds")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_rfc_3339_and_reads_it_back() {
        let utc = Times { utc: true };
        assert_eq!(utc.show(1_796_042_602), "2026-11-30T12:43:22Z");
        assert_eq!(parse_time("2026-11-30T12:43:22Z"), Ok(1_796_042_602));
        assert_eq!(parse_time("2026-11-30T13:43:22+01:00"), Ok(1_796_042_602));
        assert_eq!(parse_time("1796042602"), Ok(1_796_042_602));
        assert!(parse_time("yesterday").is_err());
        let local = Times { utc: false }.show(1_796_042_602);
        assert_eq!(parse_time(&local), Ok(1_796_042_602), "{local}");
    }
}
