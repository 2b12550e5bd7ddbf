//! The reports' roll-up (README "Reports"): days sealed by the sweeper answer exactly what
//! the walk over the events answers — the summary of whole days, day and week buckets, and
//! periods that start and end mid-day (walked at their edges) — in a zone with its own
//! midnight; a roll-up is really read (a row changed behind the server's back shows); an
//! event dated inside the sealed days but written after them (no API writes one: it is
//! inserted directly) is never answered stale, and the next sweep re-seals; a time-zone
//! change drops the roll-up until it is sealed again in the new zone. On both databases.

use rand::SeedableRng;
use rand::rngs::StdRng;
use reqwest::Method;
use serde_json::{Value, json};

use crate::reports_property::{assert_reports_match, for_played_days, play};
use crate::support::*;

on_both_databases_with_own_config! {
    the_roll_up_answers_as_the_walk_and_never_stale,
}

type Check = (String, i64, i64, Option<&'static str>);

/// The reports compared: whole days, mid-day edges, day and week buckets, and hours (walked).
fn checks(first: i64, last: i64) -> Vec<Check> {
    let (from, to) = (first - 7 * 3600 - 321, last + 2 * 3600 + 17);
    let mut out: Vec<Check> = vec![
        (
            format!("/v1/reports/summary?from={first}&to={last}"),
            first,
            last,
            None,
        ),
        (
            format!("/v1/reports/summary?from={from}&to={to}"),
            from,
            to,
            None,
        ),
    ];
    for bucket in ["day", "week"] {
        let path = format!("/v1/reports/agent-states?from={from}&to={to}&bucket={bucket}");
        out.push((path, from, to, Some(bucket)));
    }
    let (h0, h1) = (last - 86_400, last);
    let path = format!("/v1/reports/agent-states?from={h0}&to={h1}&bucket=hour");
    out.push((path, h0, h1, Some("hour")));
    out
}

async fn roll_up(app: &TestApp) -> usize {
    let mut days = 0;
    loop {
        match app.service.roll_up(now_unix()).await.unwrap() {
            0 => return days,
            sealed => days += sealed,
        }
    }
}

async fn sealed_to(db: &TestDb) -> Option<i64> {
    let text = sql_text(db, "SELECT CAST(sealed_to AS TEXT) FROM report_seals").await;
    text.map(|t| t.parse().unwrap())
}

async fn reports(app: &TestApp, token: &str, checks: &[Check]) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for (path, ..) in checks {
        out.push(app.report(token, path).await);
    }
    out
}

/// Whether the roll-up is read: a row changed behind the server's back changes the summary.
async fn roll_up_is_read(app: &TestApp, token: &str, path: &str) -> bool {
    let db = app.db.as_ref().unwrap();
    let before = app.report(token, path).await;
    let shift = "UPDATE report_days SET available = available + 7, logged_out = logged_out - 7";
    sql_exec(db, shift).await;
    let after = app.report(token, path).await;
    let back = "UPDATE report_days SET available = available - 7, logged_out = logged_out + 7";
    sql_exec(db, back).await;
    before != after
}

async fn the_roll_up_answers_as_the_walk_and_never_stale(backend: Backend) {
    // No sweeper: the roll-up is sealed by the test, when it says.
    let Some(app) = TestApp::spawn_with(backend, for_played_days).await else {
        return;
    };
    let db = app.db.as_ref().unwrap();
    let token = app.new_account("roll").await;
    let zone = "Asia/Kolkata";
    let patch = json!({"timeZone": zone, "wrapSeconds": 120});
    let path = "/v1/account";
    app.v1_ok(Method::PATCH, path, &token, Some(patch), 200)
        .await;
    let agents: Vec<String> = (1..=3).map(|i| format!("a{i}")).collect();
    for id in &agents {
        app.create_agent(&token, json!({"agentId": id})).await;
    }
    // Four local days of random changes, ending at yesterday's start; states open across
    // midnights.
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let midnight = |days_back: i64| {
        let date = today
            .checked_sub(jiff::Span::new().days(days_back))
            .unwrap();
        date.to_zoned(tz.clone()).unwrap().timestamp().as_second()
    };
    let (first, last) = (midnight(5), midnight(1));
    let mut rng = StdRng::seed_from_u64(20);
    for id in &agents {
        let mut t = first - 10 * 3600;
        while t < last {
            let op = rand::Rng::random_range(&mut rng, 0..12);
            play(&app, "roll", id, t, op, &mut rng).await;
            t += rand::Rng::random_range(&mut rng, 1..2400);
        }
    }
    let checks = checks(first, last);
    let summary = &checks[0].0;
    let walked = reports(&app, &token, &checks).await;
    assert_reports_match(&app, &token, &agents, &tz, &checks, "walked").await;

    assert!(roll_up(&app).await > 0);
    assert!(sealed_to(db).await.unwrap() >= last, "sealed to yesterday");
    let rows = sql_text(db, "SELECT CAST(COUNT(*) AS TEXT) FROM report_days").await;
    assert!(rows.unwrap().parse::<i64>().unwrap() > 0);
    assert_eq!(reports(&app, &token, &checks).await, walked, "rolled up");
    assert!(roll_up_is_read(&app, &token, summary).await);

    // A break of agent a2, dated on the second day, written after the seal.
    let at = first + 86_400 + 3600;
    sql_exec(
        db,
        &format!(
            "INSERT INTO events (account_pk, agent_pk, kind, actor, at, details)
             SELECT g.account_pk, g.id, k.kind, 'system', {at} + k.off, k.details
             FROM agents g, (SELECT 'break.start' AS kind, 0 AS off,
                                    '{{\"reasonCode\":\"late\",\"limit\":60}}' AS details
                             UNION ALL SELECT 'break.end', 1800, '{{}}') k
             WHERE g.agent_id = 'a2'"
        ),
    )
    .await;
    assert!(!roll_up_is_read(&app, &token, summary).await, "stale");
    assert_ne!(reports(&app, &token, &checks).await[0], walked[0]);
    assert_reports_match(&app, &token, &agents, &tz, &checks, "late event").await;
    roll_up(&app).await;
    assert!(roll_up_is_read(&app, &token, summary).await, "re-sealed");
    assert_reports_match(&app, &token, &agents, &tz, &checks, "re-sealed").await;

    // Another zone: other midnights; the roll-up is not read until sealed in it.
    let zone = "America/New_York";
    let patch = json!({"timeZone": zone});
    app.v1_ok(Method::PATCH, path, &token, Some(patch), 200)
        .await;
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    let checks = crate::reports_rollup::checks(first + 3 * 3600, last - 86_400);
    let summary = &checks[0].0;
    assert!(
        !roll_up_is_read(&app, &token, summary).await,
        "another zone"
    );
    assert_reports_match(&app, &token, &agents, &tz, &checks, "new zone").await;
    roll_up(&app).await;
    assert!(
        roll_up_is_read(&app, &token, summary).await,
        "sealed in the new zone"
    );
    assert_reports_match(&app, &token, &agents, &tz, &checks, "new zone, rolled").await;
}
