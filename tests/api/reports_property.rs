//! Time-in-state reports against an independent reference: random days of changes, made
//! through the service with chosen times (`Act::now`, the one clock every change takes) and
//! so written as the server writes them — state rows and events in one transaction —
//! around daylight-saving days in Europe/Berlin and America/New_York, with states open
//! across the period's edges; then every report the API answers (the summary, hour, day and
//! week buckets) is compared, field by field, with a second-by-second walk over the
//! history (`support::reference`). Seeded: a failure prints the seed that replays it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

on_both_databases_with_own_config! {
    random_days_match_the_reference_walk,
}

/// The DST days: (zone, the local date of the change).
const DAYS: [(&str, &str); 4] = [
    ("Europe/Berlin", "2026-03-29"),
    ("Europe/Berlin", "2026-10-25"),
    ("America/New_York", "2026-03-08"),
    ("America/New_York", "2026-11-01"),
];

const REASONS: [&str; 4] = ["break", "lunch", "personal", "meeting"];

/// A server for played days of 2026: no sweeper (the test says when anything is sealed, and
/// the sweeper would end wrap-ups by the wall clock), nothing past retention, sessions that
/// expire inside a day (the max age, which the history shows; not by idling, which it does not).
pub fn for_played_days(c: &mut Config) {
    c.events_retention_days = 0;
    c.sweep_interval_ms = 0;
    c.session_idle_timeout_secs = 30 * 86_400;
    c.session_max_age_secs = 5 * 3600;
}

async fn random_days_match_the_reference_walk(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, for_played_days).await else {
        return;
    };
    let seeds: Vec<u64> = match std::env::var("REPORT_SEED") {
        Ok(seed) => vec![seed.parse().unwrap()],
        Err(_) => (0..8).collect(),
    };
    for seed in seeds {
        one_case(&app, seed).await;
    }
}

async fn one_case(app: &TestApp, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (zone, date) = DAYS[seed as usize % DAYS.len()];
    let user = format!("prop{seed}");
    let token = app.new_account(&user).await;
    app.v1_ok(
        Method::PATCH,
        "/v1/account",
        &token,
        Some(
            json!({"timeZone": zone, "wrapSeconds": rng.random_range(0..900),
                    "wrapMode": if rng.random_bool(0.3) { "untimed" } else { "timed" }}),
        ),
        200,
    )
    .await;
    let agents: Vec<String> = (1..=3).map(|i| format!("a{i}")).collect();
    for id in &agents {
        app.create_agent(&token, json!({"agentId": id})).await;
    }
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    let day: jiff::civil::Date = date.parse().unwrap();
    let start = day.to_zoned(tz.clone()).unwrap().timestamp().as_second();
    let end = day
        .tomorrow()
        .unwrap()
        .to_zoned(tz.clone())
        .unwrap()
        .timestamp()
        .as_second();
    // Changes from 14 hours before the day to 10 after it, so states cross both edges.
    let mut played = Vec::new();
    for id in &agents {
        let mut t = start - 14 * 3600 + rng.random_range(0..3600);
        while t < end + 10 * 3600 {
            let op = rng.random_range(0..12);
            played.push((
                id.clone(),
                t,
                op,
                play(app, &user, id, t, op, &mut rng).await,
            ));
            t += rng.random_range(1..2400);
        }
    }
    let context = || format!("seed {seed} ({zone} {date}); played {played:?}");
    // A period that starts and ends mid-hour, over the whole day and its neighbours' edges.
    let (from, to) = (start - 5 * 3600 - 1234, end + 4 * 3600 + 321);
    let checks = [
        (
            format!("/v1/reports/summary?from={start}&to={end}"),
            start,
            end,
            None,
        ),
        (
            format!("/v1/reports/agent-states?from={from}&to={to}&bucket=hour"),
            from,
            to,
            Some("hour"),
        ),
        (
            format!("/v1/reports/agent-states?from={from}&to={to}&bucket=day"),
            from,
            to,
            Some("day"),
        ),
        (
            format!("/v1/reports/agent-states?from={from}&to={to}&bucket=week"),
            from,
            to,
            Some("week"),
        ),
    ];
    let context = context();
    assert_reports_match(app, &token, &agents, &tz, &checks, &context).await;
    // The same, with the days rolled up: the summary of the day, and the day and week
    // buckets' whole days, read from the roll-up; the partial days and hours walked.
    while app.service.roll_up(now_unix()).await.unwrap() > 0 {}
    let db = app.db.as_ref().unwrap();
    let sealed = sql_text(
        db,
        &format!(
            "SELECT CAST(s.sealed_to AS TEXT) FROM report_seals s
             JOIN accounts a ON a.id = s.account_pk WHERE a.user_id = '{user}'"
        ),
    )
    .await;
    let sealed: i64 = sealed.expect("sealed").parse().unwrap();
    assert!(sealed >= end, "the day is rolled up: {sealed} < {end}");
    assert_reports_match(app, &token, &agents, &tz, &checks, &context).await;
}

/// Asserts that each report (path, from, to, bucket) answers what the reference walk over
/// the account's history does, row for row.
pub(crate) async fn assert_reports_match(
    app: &TestApp,
    token: &str,
    agents: &[String],
    tz: &jiff::tz::TimeZone,
    checks: &[(String, i64, i64, Option<&str>)],
    context: &str,
) {
    let events = app.all_events(token).await;
    for (path, from, to, bucket) in checks {
        let (path, from, to, bucket) = (path, *from, *to, *bucket);
        let rows = app.report(token, path).await;
        let want = reference(&events, agents, from, to, tz, bucket);
        let mut got = std::collections::BTreeMap::new();
        for row in &rows {
            let key = bucket_key(row["from"].as_i64().unwrap(), tz, bucket);
            let agent = row["agentId"].as_str().unwrap().to_owned();
            let total: i64 = ["available", "on_call", "wrap_up", "on_break", "logged_out"]
                .iter()
                .map(|k| row["seconds"][k].as_i64().unwrap())
                .sum();
            let span = row["to"].as_i64().unwrap() - row["from"].as_i64().unwrap();
            assert_eq!(total, span, "{path}: {row}; {context}");
            got.insert((agent, key), Expected::of_row(row));
        }
        let keys = |m: &std::collections::BTreeMap<(String, String), Expected>| {
            m.keys().cloned().collect::<Vec<_>>()
        };
        assert_eq!(keys(&got), keys(&want), "{path}: buckets; {context}");
        for (key, want) in &want {
            assert_eq!(&got[key], want, "{path} {key:?}; {context}");
        }
    }
}

/// One random change at `t`; answers whether it was accepted (refusals are part of the game:
/// a break during a call, a call while logged out…).
pub(crate) async fn play(
    app: &TestApp,
    user: &str,
    id: &str,
    t: i64,
    op: u32,
    rng: &mut StdRng,
) -> bool {
    let s = &app.service;
    let act = Act {
        actor: Actor::Cli,
        now: t,
    };
    let account = s.account(user).await.unwrap();
    let agent = s.agent(&account, id).await.unwrap();
    let call = |n: i64| CallRequest {
        call_id: format!("c{n}"),
        customer_number: "+15550100".into(),
        direction: None,
        force: n % 2 == 0,
    };
    match op {
        0 | 1 => s.login(&agent, act).await.is_ok(),
        2 => s.logout_agent(&agent, act).await.is_ok(),
        3 => {
            let reason = REASONS[rng.random_range(0..REASONS.len())];
            s.start_break(&agent, reason, act).await.is_ok()
        }
        4 => s.end_break(&agent, act).await.is_ok(),
        5 | 6 => s.start_call(&agent, call(t), act).await.is_ok(),
        7 => {
            let outcome = if rng.random_bool(0.2) {
                CallOutcome::Missed
            } else {
                CallOutcome::Completed
            };
            s.end_call(&account, &agent, outcome, act).await.is_ok()
        }
        8 => {
            let seconds = rng.random_bool(0.5).then(|| rng.random_range(0..1200));
            let request = wrap("w", "+15550100", seconds);
            s.start_wrap_up(&account, &agent, request, act)
                .await
                .is_ok()
        }
        9 => s
            .end_wrap_up(&agent, EndedBy::Supervisor, act)
            .await
            .is_ok(),
        10 => s.set_agent_disabled(&agent, true, act).await.is_ok(),
        _ => s.set_agent_disabled(&agent, false, act).await.is_ok(),
    }
}
