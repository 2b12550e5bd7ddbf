//! A report's period and buckets in the account's time zone (IANA names, from the tz
//! database bundled into the binary, so a slim image without tzdata works): day and week
//! buckets start at local midnight (a daylight-saving day lasts 23 or 25 hours), weeks on
//! Monday, hours on the local hour.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::text_enum::text_enum;

text_enum! {
    /// How a report's period is cut into rows.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Bucket ("bucket") {
        Hour = "hour", Day = "day", Week = "week",
    }
}

/// The zone of this IANA name (or `UTC`); None for a name the bundled database lacks.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok()
}

fn zoned(t: i64, tz: &TimeZone) -> Option<jiff::Zoned> {
    Some(Timestamp::from_second(t).ok()?.to_zoned(tz.clone()))
}

/// The first instant of the local day `date`.
fn day_start(date: Date, tz: &TimeZone) -> Option<i64> {
    let start = date.to_zoned(tz.clone()).ok()?.start_of_day().ok()?;
    Some(start.timestamp().as_second())
}

/// The local date of `t`.
fn date_of(t: i64, tz: &TimeZone) -> Option<Date> {
    zoned(t, tz).map(|z| z.date())
}

/// The start of the bucket holding `t`.
pub fn bucket_start(t: i64, bucket: Bucket, tz: &TimeZone) -> Option<i64> {
    match bucket {
        Bucket::Hour => {
            let offset = i64::from(tz.to_offset(Timestamp::from_second(t).ok()?).seconds());
            let local = t + offset;
            Some(local - local.rem_euclid(3600) - offset)
        }
        Bucket::Day => day_start(date_of(t, tz)?, tz),
        Bucket::Week => {
            let date = date_of(t, tz)?;
            let monday = date
                .checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days())
                .ok()?;
            day_start(monday, tz)
        }
    }
}

/// The start of the bucket after the one starting at `start`.
fn next_start(start: i64, bucket: Bucket, tz: &TimeZone) -> Option<i64> {
    let next = match bucket {
        Bucket::Hour => bucket_start(start + 3600, bucket, tz)?,
        Bucket::Day => day_start(date_of(start, tz)?.tomorrow().ok()?, tz)?,
        Bucket::Week => day_start(date_of(start, tz)?.checked_add(7.days()).ok()?, tz)?,
    };
    // An offset change of less than an hour could land an hour's start on itself.
    Some(if next > start { next } else { start + 3600 })
}

/// The buckets of `[from, end)`: each one's start, and the edges of the windows counted
/// (the first clipped to `from`, the last to `end`). Without a bucket, one window.
pub fn windows(
    from: i64,
    end: i64,
    bucket: Option<Bucket>,
    tz: &TimeZone,
) -> Option<(Vec<i64>, Vec<i64>)> {
    let Some(bucket) = bucket else {
        return Some((vec![from], vec![from, end]));
    };
    let mut start = bucket_start(from, bucket, tz)?;
    let (mut starts, mut edges) = (vec![start], vec![from]);
    loop {
        start = next_start(start, bucket, tz)?;
        if start >= end {
            edges.push(end);
            return Some((starts, edges));
        }
        starts.push(start);
        edges.push(start);
    }
}

/// How many buckets `[from, end)` has, without listing them (an upper bound for hours).
pub fn bucket_count(from: i64, end: i64, bucket: Option<Bucket>) -> i64 {
    let size = match bucket {
        None => return 1,
        Some(Bucket::Hour) => 3600,
        Some(Bucket::Day) => 82_800,
        Some(Bucket::Week) => 7 * 86_400 - 3600,
    };
    (end - from) / size + 2
}

/// A time as a request gives it: Unix seconds, an RFC 3339 instant
/// (`2026-03-29T00:00:00Z`, `…+02:00`), or a local date or date and time in the account's zone
/// (`2026-03-29`, `2026-03-29T08:00:00`).
pub fn parse_time(text: &str, tz: &TimeZone) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Timestamp::from_second(seconds).ok().map(|_| seconds);
    }
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Some(instant.as_second());
    }
    if let Ok(date) = text.parse::<Date>() {
        return day_start(date, tz);
    }
    let local = text.parse::<DateTime>().ok()?;
    Some(local.to_zoned(tz.clone()).ok()?.timestamp().as_second())
}

/// The start of the local day holding `t`, and of the day after it.
pub fn day_around(t: i64, tz: &TimeZone) -> Option<(i64, i64)> {
    let date = date_of(t, tz)?;
    Some((day_start(date, tz)?, day_start(date.tomorrow().ok()?, tz)?))
}

/// The start of the local day after the one holding `t`.
pub fn next_day(t: i64, tz: &TimeZone) -> Option<i64> {
    day_around(t, tz).map(|(_, next)| next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        time_zone("Europe/Berlin").unwrap()
    }

    #[test]
    fn daylight_saving_days_last_23_and_25_hours() {
        let tz = berlin();
        let spring = parse_time("2026-03-29", &tz).unwrap();
        let (starts, edges) = windows(spring, next_day(spring, &tz).unwrap(), None, &tz).unwrap();
        assert_eq!((starts.len(), edges[1] - edges[0]), (1, 23 * 3600));
        let autumn = parse_time("2026-10-25", &tz).unwrap();
        assert_eq!(next_day(autumn, &tz).unwrap() - autumn, 25 * 3600);
        let (starts, _) = windows(autumn, autumn + 25 * 3600, Some(Bucket::Hour), &tz).unwrap();
        assert_eq!(starts.len(), 25);
        assert_eq!(
            starts[3] - starts[2],
            3600,
            "the repeated hour is a bucket of its own"
        );
    }

    #[test]
    fn weeks_start_on_local_monday_and_edges_clip() {
        let tz = berlin();
        // Wednesday 2026-03-25 10:30 local; its week began Monday the 23rd (UTC+1).
        let t = parse_time("2026-03-25T10:30:00", &tz).unwrap();
        let monday = parse_time("2026-03-23T00:00:00+01:00", &tz).unwrap();
        assert_eq!(bucket_start(t, Bucket::Week, &tz), Some(monday));
        let end = parse_time("2026-04-01T12:00:00", &tz).unwrap();
        let (starts, edges) = windows(t, end, Some(Bucket::Week), &tz).unwrap();
        // The next Monday, the 30th, is after the change to UTC+2: 7 days less an hour.
        assert_eq!(starts, vec![monday, monday + 7 * 86_400 - 3600]);
        assert_eq!(edges, vec![t, starts[1], end]);
        assert!(bucket_count(t, end, Some(Bucket::Week)) >= 2);
    }

    #[test]
    fn times_read_as_seconds_instants_and_local_dates() {
        let tz = berlin();
        assert_eq!(parse_time("1796042602", &tz), Some(1_796_042_602));
        assert_eq!(parse_time("2026-01-01T00:00:00Z", &tz), Some(1_767_225_600));
        assert_eq!(parse_time("2026-01-01", &tz), Some(1_767_225_600 - 3600));
        assert_eq!(parse_time("yesterday", &tz), None);
        assert!(time_zone("Mars/Olympus").is_none());
        assert!(time_zone("UTC").is_some());
    }
}
