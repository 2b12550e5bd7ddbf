//! Time-in-state reports through `/v1/reports/…`: a scripted day read back as JSON and CSV,
//! the period's bounds and defaults, the 422s, scopes, another account's agents, the
//! account's time zone, and the events' retention; on both databases.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

on_both_databases! {
    a_scripted_day_reads_back_as_json_and_csv,
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
    s.start_break(&agent().await, "lunch", at(d - 600)).await.unwrap();
    s.end_break(&agent().await, at(d + 1200)).await.unwrap();
    let call = CallRequest {
        call_id: "c-1".into(),
        customer_number: "+15550100".into(),
        direction: None,
        force: false,
    };
    s.start_call(&agent().await, call, at(d + 3600)).await.unwrap();
    s.end_call(&account, &agent().await, CallOutcome::Completed, at(d + 3900))
        .await
        .unwrap();
    s.start_break(&agent().await, "personal", at(d + 7200)).await.unwrap();
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
    let hourly = format!("/v1/reports/agent-states?from={d}&to={}&bucket=hour&agentId=7", d + DAY);
    let hours = app.report(&f.token, &hourly).await;
    assert_eq!(hours.len(), 24);
    assert_eq!(hours[0]["bucket"], d);
    assert_eq!(hours[0]["seconds"]["on_break"], 1200);
    assert_eq!(hours[0]["seconds"]["available"], 2400);
    assert_eq!(hours[2]["counts"]["overLimitBreaks"], 1, "personal crossed at 2:10");
    let sum: i64 = hours.iter().map(|h| h["seconds"]["available"].as_i64().unwrap()).sum();
    assert_eq!(sum, 6240);
    // CSV, by `format` and by `Accept`: the documented header, the same numbers.
    for (path, accept) in [(format!("{path}&format=csv"), false), (path.clone(), true)] {
        let (status, content_type, body) = app.report_csv(&f.token, &path, accept).await;
        assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"));
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "agentId,bucket,from,to,available,on_call,wrap_up,on_break,logged_out,breaks,calls,\
             wrapUps,overLimitBreaks,overLimitSeconds,longestBreak,occupancy,break.lunch,\
             break.personal"
        );
        assert_eq!(
            lines[1],
            format!("7,,{d},{},6240,300,60,2400,77400,1,1,1,1,600,1200,0.0545,1200,1200", d + DAY)
        );
        assert_eq!(lines[2], format!("8,,{d},{},0,0,0,0,86400,0,0,0,0,0,0,,0,0", d + DAY));
        assert_eq!(lines[3], "");
    }
}
