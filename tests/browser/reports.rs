//! The board's Reports view: a scripted day (written through the service with its times) read
//! in the browser — the numbers on the page are the API's, the CSV button downloads the API's
//! CSV of the same day, and the page's CSP refuses nothing. `REPORTS_SCREENSHOT=docs/reports.png`
//! also writes the README's picture.

use std::path::Path;
use std::time::Duration;

use agentprofile_test_support::{
    Act, Actor, Backend, CallOutcome, CallRequest, Operator, ServerProcess, TestDb, named,
    now_unix, operator_on,
};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

use crate::driver::{Browser, LIVE, until};

const DAY: i64 = 86_400;

/// Agents 7, 8 and 9 of `acme` through day `d` (UTC): calls, wrap-ups, breaks of several
/// reasons, one past its limit.
async fn script(service: &agentprofile_test_support::Service, d: i64) {
    let account = service.account("acme").await.unwrap();
    let at = |now| Act {
        actor: Actor::Cli,
        now,
    };
    for (n, id) in ["7", "8", "9"].into_iter().enumerate() {
        let n = n as i64;
        let agent = || async { service.agent(&account, id).await.unwrap() };
        let start = d + 8 * 3600 + n * 1800;
        service.login(&agent().await, at(start)).await.unwrap();
        for k in 0..(3 + n) {
            let t = start + 1800 + k * 3600;
            let call = CallRequest {
                call_id: format!("c-{id}-{k}"),
                customer_number: "+15550100".into(),
                direction: None,
                force: false,
            };
            // A call needs a session live within the idle timeout: the agent logs in again.
            service.login(&agent().await, at(t - 60)).await.unwrap();
            service
                .start_call(&agent().await, call, at(t))
                .await
                .unwrap();
            service
                .end_call(
                    &account,
                    &agent().await,
                    CallOutcome::Completed,
                    at(t + 600 + n * 120),
                )
                .await
                .unwrap();
        }
        let reason = ["lunch", "break", "personal"][n as usize];
        let b = start + 5 * 3600;
        service
            .start_break(&agent().await, reason, at(b))
            .await
            .unwrap();
        service
            .end_break(&agent().await, at(b + 1500 + n * 300))
            .await
            .unwrap();
        service
            .logout_agent(&agent().await, at(start + 8 * 3600))
            .await
            .unwrap();
    }
}

pub async fn reports_view_shows_the_apis_numbers() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let service = operator_on(&db).await;
    let admin = Operator { service: &service };
    admin.create_account("acme", "ACME support").await.unwrap();
    for (id, name) in [("7", "Ann Lee"), ("8", "Bob Stone"), ("9", "Cy Ortiz")] {
        admin.create_agent("acme", named(id, name)).await.unwrap();
    }
    let token = admin.create_token("acme").await.unwrap();
    let now = now_unix();
    let d = now - now.rem_euclid(DAY) - 2 * DAY;
    script(&service, d).await;
    let server = ServerProcess::start(&db, &[]).await;
    let c = browser.c();
    c.set_window_size(1300, 900).await.unwrap();
    c.goto(&format!("{}/board", server.base)).await.unwrap();
    browser.sign_in("acme", &token).await;
    browser
        .until_count("the roster", "#rows tr[data-agent-id]", 3, LIVE)
        .await;
    browser.click(Locator::Id("reports-toggle")).await;
    // Today by default: three agents, in words.
    browser
        .until_count("today's report", ".report-agent[data-agent]", 3, LIVE)
        .await;
    assert_eq!(
        browser.attr("#roster", "hidden").await,
        None,
        "the table stays"
    );
    assert!(browser.attr(".roster-wrap", "hidden").await.is_some());
    // The scripted day, picked in the date field.
    let date = jiff::Timestamp::from_second(d).unwrap().to_string()[..10].to_owned();
    browser
        .js(
            "const i = document.getElementById('reports-day'); i.value = arguments[0]; \
             i.dispatchEvent(new Event('change'));",
            vec![json!(date)],
        )
        .await;
    browser
        .until_attr("#reports", "data-day", &date, LIVE)
        .await;
    let path = format!(
        "/v1/reports/summary?from={date}&to={}",
        &jiff::Timestamp::from_second(d + DAY).unwrap().to_string()[..10]
    );
    let (_, answer) = server.v1(Method::GET, &path, &token, None).await;
    let rows = answer["data"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let id = row["agentId"].as_str().unwrap();
        let at = |what: &str| format!(".report-agent[data-agent=\"{id}\"] {what}");
        for state in ["available", "on_call", "wrap_up", "on_break", "logged_out"] {
            let shown = browser
                .attr(&at(&format!("[data-state=\"{state}\"]")), "data-seconds")
                .await;
            assert_eq!(
                shown,
                Some(row["seconds"][state].to_string()),
                "{id} {state}"
            );
            let words = browser
                .text(&at(&format!("[data-state=\"{state}\"]")))
                .await
                .unwrap();
            assert!(
                words.chars().next().unwrap().is_alphabetic(),
                "a word first: {words}"
            );
        }
        for (reason, seconds) in row["breakSeconds"].as_object().unwrap() {
            let shown = browser
                .attr(&at(&format!("[data-reason=\"{reason}\"]")), "data-seconds")
                .await;
            assert_eq!(shown, Some(seconds.to_string()), "{id} {reason}");
        }
        let over = browser
            .attr(&at("[data-over-seconds]"), "data-over-seconds")
            .await;
        assert_eq!(over, Some(row["overLimitSeconds"].to_string()));
        let calls = browser
            .attr(&at("[data-count=\"calls\"]"), "data-value")
            .await;
        assert_eq!(calls, Some(row["counts"]["calls"].to_string()));
        assert!(browser.count(&at("svg.bar rect title")).await > 0);
    }
    // Totals on top: the sums of the rows.
    let sum = |state: &str| {
        rows.iter()
            .map(|r| r["seconds"][state].as_i64().unwrap())
            .sum::<i64>()
    };
    for state in ["available", "on_call", "on_break"] {
        let shown = browser
            .attr(&format!("[data-total=\"{state}\"]"), "data-value")
            .await;
        assert_eq!(shown, Some(sum(state).to_string()));
    }
    // Agent 8's 30-minute break went 15 minutes past its limit: flagged in words, outlined.
    let flag = browser
        .text(".report-agent[data-agent=\"8\"] .over-flag")
        .await;
    assert_eq!(flag.as_deref(), Some("Over limit 0:15:00"));
    assert_eq!(
        browser
            .count(".report-agent[data-agent=\"8\"] rect.seg-over")
            .await,
        1
    );
    assert_eq!(
        browser
            .count(".report-agent[data-agent=\"7\"] rect.seg-over")
            .await,
        0
    );
    // The CSV button fetches the API's CSV of the same day, which the test reads too.
    browser.click(Locator::Id("reports-csv")).await;
    let url = until("the CSV download", LIVE, || async {
        browser.attr("#reports-csv", "data-url").await
    })
    .await;
    assert_eq!(url, format!("{path}&format=csv"));
    let res = server
        .client
        .get(format!("{}{url}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let csv = res.text().await.unwrap();
    let lines = browser.attr("#reports-csv", "data-lines").await.unwrap();
    assert_eq!(lines, (csv.split("\r\n").count() - 1).to_string());
    assert!(csv.starts_with("agentId,bucket,from,to,available,"));
    assert_eq!(csv.lines().count(), 4);
    assert_eq!(browser.csp_violations().await, Vec::<String>::new());
    if let Some(path) = std::env::var_os("REPORTS_SCREENSHOT") {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = c.screenshot().await.unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::write(path, png).unwrap();
    }
    browser.close().await;
}
