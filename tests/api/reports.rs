//! Time-in-state reports through `/v1/reports/…`: a scripted day read back as JSON and CSV,
//! the period's bounds and defaults, the 422s, scopes, another account's agents, the
//! account's time zone, and the events' retention; on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::cli;
use crate::support::*;

on_both_databases! {
    a_scripted_day_reads_back_as_json_and_csv, bad_periods_and_options_answer_422_and_change_nothing,
    reports_need_a_read_token_and_never_show_another_accounts_agents,
    the_account_time_zone_sets_where_days_begin, the_sweep_deletes_events_past_their_retention,
    the_cli_prints_the_summary_as_a_table_and_as_the_apis_csv,
}

const DAY: i64 = 86_400;

/// The start of the UTC day two days ago: a day wholly past, well inside the retention.
fn a_past_day() -> i64 {
    let now = now_unix();
    now - now.rem_euclid(DAY) - 2 * DAY
}

/// Agent 7's scripted day `d` (agent 8 does nothing): a lunch open across midnight, a call
/// and its 60-second wrap-up, a personal break 600 s over its limit, a logout.
async fn script_day(app: &TestApp, d: i64) {
    let s = &app.service;
    let account = s.account("acme").await.unwrap();
    let at = |now| Act {
        actor: Actor::Cli,
        now,
    };
    let agent = || async { s.agent(&account, "7").await.unwrap() };
    s.login(&agent().await, at(d - 1800)).await.unwrap();
    s.start_break(&agent().await, "lunch", at(d - 600))
        .await
        .unwrap();
    s.end_break(&agent().await, at(d + 1200)).await.unwrap();
    let call = CallRequest {
        call_id: "c-1".into(),
        customer_number: "+15550100".into(),
        direction: None,
        force: false,
    };
    s.start_call(&agent().await, call, at(d + 3600))
        .await
        .unwrap();
    s.end_call(
        &account,
        &agent().await,
        CallOutcome::Completed,
        at(d + 3900),
    )
    .await
    .unwrap();
    s.start_break(&agent().await, "personal", at(d + 7200))
        .await
        .unwrap();
    s.end_break(&agent().await, at(d + 8400)).await.unwrap();
    // The fixture's own session (logged in now) is not this day's: log out what day d had.
    s.logout_agent(&agent().await, at(d + 9000)).await.unwrap();
}

async fn a_scripted_day_reads_back_as_json_and_csv(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    app.create_agent(&f.token, json!({"agentId": "8"})).await;
    let d = a_past_day();
    script_day(&app, d).await;
    let path = format!("/v1/reports/summary?from={d}&to={}", d + DAY);
    let rows = app.report(&f.token, &path).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let seven = &rows[0];
    assert_eq!(
        seven,
        &json!({
            "agentId": "7", "from": d, "to": d + DAY,
            "seconds": {"available": 6240, "on_call": 300, "wrap_up": 60, "on_break": 2400,
                        "logged_out": 77_400},
            "breakSeconds": {"lunch": 1200, "personal": 1200},
            "counts": {"breaks": 1, "calls": 1, "wrapUps": 1, "overLimitBreaks": 1},
            "overLimitSeconds": 600, "longestBreak": 1200, "occupancy": 0.0545,
        })
    );
    assert_eq!(rows[1]["agentId"], "8");
    assert_eq!(rows[1]["seconds"]["logged_out"], DAY);
    assert_eq!(rows[1]["occupancy"], Value::Null);
    // Hours: the first holds the end of the lunch and the available time after it.
    let hourly = format!(
        "/v1/reports/agent-states?from={d}&to={}&bucket=hour&agentId=7",
        d + DAY
    );
    let hours = app.report(&f.token, &hourly).await;
    assert_eq!(hours.len(), 24);
    assert_eq!(hours[0]["bucket"], d);
    assert_eq!(hours[0]["seconds"]["on_break"], 1200);
    assert_eq!(hours[0]["seconds"]["available"], 2400);
    assert_eq!(
        hours[2]["counts"]["overLimitBreaks"], 1,
        "personal crossed at 2:10"
    );
    let sum: i64 = hours
        .iter()
        .map(|h| h["seconds"]["available"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, 6240);
    // CSV, by `format` and by `Accept`: the documented header, the same numbers.
    for (path, accept) in [(format!("{path}&format=csv"), false), (path.clone(), true)] {
        let (status, content_type, body) = app.report_csv(&f.token, &path, accept).await;
        assert_eq!(
            (status, content_type.as_str()),
            (200, "text/csv; charset=utf-8")
        );
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "agentId,bucket,from,to,available,on_call,wrap_up,on_break,logged_out,breaks,calls,\
             wrapUps,overLimitBreaks,overLimitSeconds,longestBreak,occupancy,break.lunch,\
             break.personal"
        );
        assert_eq!(
            lines[1],
            format!(
                "7,,{d},{},6240,300,60,2400,77400,1,1,1,1,600,1200,0.0545,1200,1200",
                d + DAY
            )
        );
        assert_eq!(
            lines[2],
            format!("8,,{d},{},0,0,0,0,86400,0,0,0,0,0,0,,0,0", d + DAY)
        );
        assert_eq!(lines[3], "");
    }
}

async fn bad_periods_and_options_answer_422_and_change_nothing(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let d = a_past_day();
    let base = "/v1/reports/agent-states";
    let too_long = format!("from={d}&to={}", d + 93 * DAY + 1);
    let old = now_unix() - 401 * DAY;
    let before_retention = format!("from={old}&to={}", old + DAY);
    app.v1_bad_queries(
        base,
        &f.token,
        &[
            ("from=yesterday", 1522),
            ("from=12&to=12", 1522),
            ("from=2026-13-01", 1522),
            (&format!("from={d}&to={}", d - 1), 1522),
            (&too_long, 1523),
            (&before_retention, 1524),
            ("bucket=minute", 1526),
            ("format=xml", 1526),
        ],
    )
    .await;
    app.v1_bad_queries(
        "/v1/reports/summary",
        &f.token,
        &[(&too_long, 1523), ("from=x", 1522)],
    )
    .await;
    // 93 days exactly is allowed; `bucket` is not read by the summary.
    let ok = format!(
        "/v1/reports/summary?from={d}&to={}&bucket=minute",
        d + 93 * DAY
    );
    assert_eq!(app.report(&f.token, &ok).await.len(), 1);
    // ISO 8601 reads as the same instants.
    let iso = |t: i64| jiff::Timestamp::from_second(t).unwrap().to_string();
    let by_iso = format!("/v1/reports/summary?from={}&to={}", iso(d), iso(d + DAY));
    let by_secs = format!("/v1/reports/summary?from={d}&to={}", d + DAY);
    assert_eq!(
        app.report(&f.token, &by_iso).await,
        app.report(&f.token, &by_secs).await
    );
    // Unknown agents, or another account's: 404, as for the history.
    app.fixture("other", "9").await;
    for agent in ["9", "nobody"] {
        let path = format!("{base}?agentId=7&agentId={agent}");
        app.v1_err(Method::GET, &path, &f.token, None, (404, 1512))
            .await;
    }
    // A time zone that is not one changes nothing.
    let patch = json!({"timeZone": "Mars/Olympus", "wrapSeconds": 30});
    app.v1_err(
        Method::PATCH,
        "/v1/account",
        &f.token,
        Some(patch),
        (422, 1525),
    )
    .await;
    let account = app.v1_get("/v1/account", &f.token).await;
    assert_eq!(
        (
            account["timeZone"].as_str(),
            account["wrapSeconds"].as_i64()
        ),
        (Some("UTC"), Some(60))
    );
}

async fn reports_need_a_read_token_and_never_show_another_accounts_agents(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let other = app.fixture("other", "8").await;
    let read = app.create_token(&f.token, json!({"scope": "read"})).await;
    let read = read["token"].as_str().unwrap();
    for path in [
        "/v1/reports/summary",
        "/v1/reports/agent-states?bucket=hour",
    ] {
        let rows = app.report(read, path).await;
        assert!(!rows.is_empty());
        assert!(rows.iter().all(|r| r["agentId"] == "7"), "{rows:?}");
        let theirs = app.report(&other.token, path).await;
        assert!(theirs.iter().all(|r| r["agentId"] == "8"), "{theirs:?}");
        app.v1_err(Method::GET, path, "not-a-token", None, (401, 1014))
            .await;
    }
    // By default: today in the account's zone, up to now; the fixture's agent is logged in.
    let today = app.report(read, "/v1/reports/summary").await;
    let now = now_unix();
    assert_eq!(today[0]["from"], now - now.rem_euclid(DAY));
    assert!(near_now(&today[0]["to"]), "{today:?}");
    assert!(today[0]["seconds"]["available"].as_i64().unwrap() <= 2);
}

async fn the_account_time_zone_sets_where_days_begin(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let data = app
        .v1_ok(
            Method::PATCH,
            "/v1/account",
            &f.token,
            Some(json!({"timeZone": "Asia/Kolkata"})),
            200,
        )
        .await;
    assert_eq!(data["timeZone"], "Asia/Kolkata");
    let d = a_past_day();
    let path = format!(
        "/v1/reports/agent-states?from={d}&to={}&bucket=day",
        d + DAY
    );
    let rows = app.report(&f.token, &path).await;
    // UTC midnight is 05:30 in Kolkata: the day began 5.5 hours before, the next at 18:30 UTC.
    let starts: Vec<i64> = rows.iter().map(|r| r["bucket"].as_i64().unwrap()).collect();
    assert_eq!(starts, [d - 19_800, d + DAY - 19_800]);
    assert_eq!(rows[0]["from"], d);
    assert_eq!(rows[1]["to"], d + DAY);
    // A local date reads in the account's zone.
    let local = app
        .report(
            &f.token,
            "/v1/reports/summary?from=2026-06-01&to=2026-06-02",
        )
        .await;
    assert_eq!(local[0]["from"], 1_780_252_200);
    assert_eq!(local[0]["to"], 1_780_252_200 + DAY);
}

async fn the_sweep_deletes_events_past_their_retention(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    assert_eq!(app.config.events_retention_days, 400, "the default");
    let account = app.service.account("acme").await.unwrap();
    let agent = app.service.agent(&account, "7").await.unwrap();
    let now = now_unix();
    for age in [402, 401, 399] {
        let act = Act {
            actor: Actor::Cli,
            now: now - age * DAY,
        };
        app.service.login(&agent, act).await.unwrap();
    }
    let before = app.all_events(&f.token).await.len();
    assert_eq!(app.service.sweep_events(now).await.unwrap(), 2);
    let after = app.all_events(&f.token).await;
    assert_eq!(after.len(), before - 2);
    assert!(
        after
            .iter()
            .all(|e| e["at"].as_i64().unwrap() >= now - 400 * DAY)
    );
    // The history is the webhooks' outbox: what an enabled endpoint has yet to deliver stays
    // (this one's name never resolves, so nothing is delivered, and nothing sent anywhere).
    let hook = json!({"url": "https://hooks.crm.invalid/agentprofile"});
    app.v1_ok(Method::POST, "/v1/webhooks", &f.token, Some(hook), 201)
        .await;
    let act = Act {
        actor: Actor::Cli,
        now: now - 401 * DAY,
    };
    app.service.login(&agent, act).await.unwrap();
    assert_eq!(app.service.sweep_events(now).await.unwrap(), 0);
    assert_eq!(app.all_events(&f.token).await.len(), after.len() + 1);
}

async fn the_cli_prints_the_summary_as_a_table_and_as_the_apis_csv(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let d = a_past_day();
    script_day(&app, d).await;
    let (from, to) = (d.to_string(), (d + DAY).to_string());
    let csv = cli(
        &app,
        &["report", "acme", "--from", &from, "--to", &to, "--csv"],
    )
    .await
    .ok();
    let path = format!("/v1/reports/summary?from={d}&to={}&format=csv", d + DAY);
    let (_, _, api) = app.report_csv(&f.token, &path, false).await;
    assert_eq!(csv, api);
    let table = cli(
        &app,
        &[
            "report", "acme", "--from", &from, "--to", &to, "--agent", "7",
        ],
    )
    .await
    .ok();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("agent  "), "{table}");
    for cell in [
        "1:44:00", "0:05:00", "0:01:00", "0:40:00", "21:30:00", "5.5%",
    ] {
        assert!(lines[1].contains(cell), "{cell} in {table}");
    }
    assert!(
        lines[1].ends_with("lunch 0:20:00, personal 0:20:00"),
        "{table}"
    );
    cli(&app, &["report", "acme", "--agent", "nobody"])
        .await
        .refused("no agent \"nobody\" in account \"acme\"");
    let zone = cli(&app, &["account", "time-zone", "acme", "Europe/Berlin"])
        .await
        .ok();
    assert_eq!(zone, "account \"acme\" time zone: Europe/Berlin\n");
    cli(&app, &["account", "time-zone", "acme", "Mars/Olympus"])
        .await
        .refused("is not a known time zone");
}
