//! Time-in-state reports: reading them through `/v1/reports/…`, and the reference they are
//! checked against — the simplest walk there is: second by second over the account's whole
//! history as `/v1/events` answers it, each second put in the bucket its local time (in the
//! account's zone) falls in. Nothing of it is shared with the server's walk.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use reqwest::Method;
use serde_json::Value;

use crate::Http;

/// What the reference expects of one agent in one bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// available, on_call, wrap_up, on_break, logged_out
    pub seconds: [i64; 5],
    pub break_seconds: BTreeMap<String, i64>,
    /// breaks, calls, wrapUps, overLimitBreaks
    pub counts: [i64; 4],
    pub over_limit_seconds: i64,
    pub longest_break: i64,
}

impl Expected {
    /// The same fields of a report row.
    pub fn of_row(row: &Value) -> Expected {
        let int = |v: &Value| {
            v.as_i64()
                .unwrap_or_else(|| panic!("not a number in {row}"))
        };
        let s = &row["seconds"];
        let c = &row["counts"];
        Expected {
            seconds: ["available", "on_call", "wrap_up", "on_break", "logged_out"]
                .map(|k| int(&s[k])),
            break_seconds: row["breakSeconds"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), int(v)))
                .collect(),
            counts: ["breaks", "calls", "wrapUps", "overLimitBreaks"].map(|k| int(&c[k])),
            over_limit_seconds: int(&row["overLimitSeconds"]),
            longest_break: int(&row["longestBreak"]),
        }
    }
}

/// How the reference names a bucket: the local date, and for hours the local hour and the
/// offset (the repeated hour of an autumn night is two buckets).
pub fn bucket_key(t: i64, tz: &TimeZone, bucket: Option<&str>) -> String {
    let z = Timestamp::from_second(t).unwrap().to_zoned(tz.clone());
    match bucket {
        None => String::new(),
        Some("day") => z.date().to_string(),
        Some("week") => {
            let d = z.date();
            let back = i64::from(d.weekday().to_monday_zero_offset());
            d.checked_sub(jiff::Span::new().days(back))
                .unwrap()
                .to_string()
        }
        Some(_) => format!("{} {:02} {}", z.date(), z.hour(), z.offset()),
    }
}

#[derive(Default)]
struct State {
    sessions: HashMap<i64, i64>,
    /// reason code, limit, started at
    on_break: Option<(String, Option<i64>, i64)>,
    on_call: bool,
    wrap: Option<Option<i64>>,
}

/// The reference: per agentId and bucket key, what `[from, to)` holds, from every event of
/// the account (`events`, as `/v1/events` lists them).
pub fn reference(
    events: &[Value],
    agents: &[String],
    from: i64,
    to: i64,
    tz: &TimeZone,
    bucket: Option<&str>,
) -> BTreeMap<(String, String), Expected> {
    let mut out = BTreeMap::new();
    for agent in agents {
        let mut mine: Vec<&Value> = events.iter().filter(|e| e["agentId"] == **agent).collect();
        mine.sort_by_key(|e| (e["at"].as_i64().unwrap(), e["id"].as_i64().unwrap()));
        let mut st = State::default();
        let mut next = 0;
        let mut run: (Option<i64>, String, i64) = (None, String::new(), 0);
        let mut key = (i64::MIN, String::new());
        let first = mine
            .first()
            .map_or(from, |e| e["at"].as_i64().unwrap().min(from));
        for s in first..to {
            st.sessions.retain(|_, exp| *exp > s);
            if matches!(st.wrap, Some(Some(end)) if end <= s) {
                st.wrap = None;
            }
            let counting = s >= from;
            // Offsets are whole quarter hours: a bucket never changes inside one.
            if counting && (key.0 != s - s.rem_euclid(900)) {
                key = (s - s.rem_euclid(900), bucket_key(s, tz, bucket));
            }
            let key = key.1.clone();
            while next < mine.len() && mine[next]["at"].as_i64().unwrap() <= s {
                let e = mine[next];
                next += 1;
                let d = &e["details"];
                let mut scratch = Expected::default();
                let tally = if counting {
                    out.entry((agent.clone(), key.clone())).or_default()
                } else {
                    &mut scratch
                };
                match e["kind"].as_str().unwrap() {
                    "login" => {
                        let exp = d["expiresAt"].as_i64().unwrap();
                        if exp > s {
                            st.sessions.insert(d["session"].as_i64().unwrap(), exp);
                        }
                    }
                    "logout" => match d["session"].as_i64() {
                        Some(id) => {
                            st.sessions.remove(&id);
                        }
                        None => st.sessions.clear(),
                    },
                    "break.start" => {
                        let code = d["reasonCode"].as_str().unwrap().to_owned();
                        st.on_break = Some((code, d["limit"].as_i64(), s));
                        if counting {
                            tally.counts[0] += 1;
                        }
                    }
                    "break.end" => st.on_break = None,
                    "call.start" => {
                        st.on_call = true;
                        if counting {
                            tally.counts[1] += 1;
                        }
                    }
                    "call.end" => st.on_call = false,
                    "wrap.start" => {
                        let end = d["endsAt"].as_i64();
                        st.wrap = Some(end).filter(|_| end.is_none_or(|e| e > s));
                        if counting {
                            tally.counts[2] += 1;
                        }
                    }
                    "wrap.end" => st.wrap = None,
                    "agent.disabled" => st = State::default(),
                    _ => {}
                }
            }
            if !counting {
                continue;
            }
            let tally = out.entry((agent.clone(), key.clone())).or_default();
            if let Some((_, Some(limit), started)) = &st.on_break
                && s == started + limit
            {
                tally.counts[3] += 1;
            }
            let state = if st.on_call {
                1
            } else if st.on_break.is_some() {
                3
            } else if st.wrap.is_some() {
                2
            } else if !st.sessions.is_empty() {
                0
            } else {
                4
            };
            tally.seconds[state] += 1;
            if state == 3 {
                let (code, limit, started) = st.on_break.clone().unwrap();
                *tally.break_seconds.entry(code).or_default() += 1;
                if limit.is_some_and(|l| s >= started + l) {
                    tally.over_limit_seconds += 1;
                }
                let this = (Some(started), key.clone());
                if (run.0, run.1.clone()) == this {
                    run.2 += 1;
                } else {
                    run = (Some(started), key.clone(), 1);
                }
                tally.longest_break = tally.longest_break.max(run.2);
            }
        }
    }
    out
}

impl Http {
    /// The account's whole history, oldest first.
    pub async fn all_events(&self, token: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let data = self
                .v1_get(&format!("/v1/events?limit=500{cursor}"), token)
                .await;
            all.extend(data["items"].as_array().unwrap().iter().cloned());
            match data["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return all,
            }
        }
    }

    /// A report's rows (`path` with its query).
    pub async fn report(&self, token: &str, path: &str) -> Vec<Value> {
        let data = self.v1_get(path, token).await;
        data.as_array().unwrap().clone()
    }

    /// A report as CSV: the status, the content type and the body; `accept` sends
    /// `Accept: text/csv` (else the path asks with `format=csv`).
    pub async fn report_csv(&self, token: &str, path: &str, accept: bool) -> (u16, String, String) {
        let mut req = self
            .client
            .request(Method::GET, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {token}"));
        if accept {
            req = req.header("accept", "text/csv");
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, ct.unwrap_or_default(), res.text().await.unwrap())
    }
}
