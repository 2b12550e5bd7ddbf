//! `GET /metrics`, on both databases: requests counted by route template and envelope code
//! once made, latency histograms, pool gauges, agent state gauges in all accounts (and per
//! account only with METRICS_ACCOUNT_LABELS), and no secret or agent id in any label.

use crate::support::now_unix;
use crate::support::{Backend, INVALID_TOKEN, PREFIX, TestApp, agent, wrap};
use reqwest::Method;
use serde_json::json;

on_both_databases! {
    state_counts_follow_the_clock_and_drop_accounts_over_the_cap,
    by_default_no_account_is_named_on_the_page,
}

// These read the agent gauges per account: METRICS_ACCOUNT_LABELS on.
on_both_databases_with_own_config! {
    counts_a_request_by_route_and_envelope_code_after_it_is_made,
    each_server_counts_only_its_own_requests,
}

/// A server that gives the agent gauges per account too; None where the database is skipped.
async fn with_account_labels(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, |c| c.metrics_account_labels = true).await
}

/// Ids that cannot turn up by chance inside a label value such as a route or a status.
const AGENT: &str = "agent-4711";
const OTHER_AGENT: &str = "agent-4712";
const ON_BREAK_ROUTE: &str = "/api/v2/agentProfile/agentOnBreak";

/// GETs /metrics: the page, which must be HTTP 200 in the Prometheus text format.
async fn scrape(app: &TestApp) -> String {
    let res = app.get_response("/metrics").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    res.text().await.unwrap()
}

/// Sends a request with a body, without checking the answer; returns the HTTP status.
async fn send(app: &TestApp, method: Method, path: &str, body: &str) -> u16 {
    app.send(method, path, None, Some(body.to_owned())).await.0
}

fn assert_line(page: &str, line: &str) {
    assert!(
        page.lines().any(|l| l == line),
        "no line\n  {line}\nin\n{page}"
    );
}

/// The values of every label on the page: `key="value"` pairs inside `{…}`, unescaped.
fn label_values(page: &str) -> Vec<String> {
    let mut values = Vec::new();
    for line in page.lines().filter(|l| !l.starts_with('#')) {
        let Some(start) = line.find('{') else {
            continue;
        };
        let mut chars = line[start + 1..].chars();
        let mut value = None::<String>;
        let mut escaped = false;
        for c in chars.by_ref() {
            match (&mut value, c) {
                (None, '"') => value = Some(String::new()),
                (None, '}') => break,
                (None, _) => {}
                (Some(v), _) if escaped => {
                    v.push(if c == 'n' { '\n' } else { c });
                    escaped = false;
                }
                (Some(_), '\\') => escaped = true,
                (Some(_), '"') => values.push(value.take().unwrap()),
                (Some(v), _) => v.push(c),
            }
        }
        assert!(value.is_none(), "unterminated label value in {line}");
    }
    values
}

async fn counts_a_request_by_route_and_envelope_code_after_it_is_made(backend: Backend) {
    let Some(app) = with_account_labels(backend).await else {
        return;
    };
    let f = app.fixture("acme", AGENT).await;
    let admin = app.admin();
    admin.create_account("globex", "").await.unwrap();
    admin
        .create_agent("acme", agent(OTHER_AGENT))
        .await
        .unwrap();

    let before = scrape(&app).await;
    assert!(
        !before.contains(ON_BREAK_ROUTE),
        "counted before any request:\n{before}"
    );

    // One 1502, then one success on the same route.
    let ssid = f.by_ssid();
    assert_eq!(app.call_code("agentOnBreak", ssid.clone()).await, 1502);
    admin.start_break("acme", AGENT, "Lunch").await.unwrap();
    assert_eq!(app.call_code("agentOnBreak", ssid.clone()).await, 0);
    let ping = json!({ "ssid": f.ssid, "mic_perm": "granted" });
    assert_eq!(app.call_code("setWebPingTime", ping).await, 0);
    admin
        .start_wrap_up("acme", OTHER_AGENT, wrap("call-1", "+15550100", Some(300)))
        .await
        .unwrap();

    // A 404 whose path and query hold the ssid and the token; a 405; a 413.
    let unmatched = format!("/no/such/{}/{AGENT}?token={}", f.ssid, f.token);
    assert_eq!(send(&app, Method::GET, &unmatched, "").await, 404);
    let no_route = format!("{PREFIX}/noSuchRoute");
    assert_eq!(send(&app, Method::POST, &no_route, "{}").await, 404);
    let on_break = format!("{PREFIX}/agentOnBreak");
    assert_eq!(send(&app, Method::GET, &on_break, "").await, 405);
    let huge = "x".repeat(app.config.body_limit_bytes as usize + 1);
    assert_eq!(send(&app, Method::POST, &on_break, &huge).await, 413);

    let page = scrape(&app).await;
    let requests = "agentprofile_http_requests_total";
    for line in [
        format!(
            r#"{requests}{{route="{ON_BREAK_ROUTE}",method="POST",status="200",code="1502"}} 1"#
        ),
        format!(r#"{requests}{{route="{ON_BREAK_ROUTE}",method="POST",status="200",code="0"}} 1"#),
        format!(
            r#"{requests}{{route="{ON_BREAK_ROUTE}",method="GET",status="405",code="1047"}} 1"#
        ),
        format!(
            r#"{requests}{{route="{ON_BREAK_ROUTE}",method="POST",status="413",code="1047"}} 1"#
        ),
        format!(
            r#"{requests}{{route="/api/v2/agentProfile/setWebPingTime",method="POST",status="200",code="0"}} 1"#
        ),
        format!(r#"{requests}{{route="unmatched",method="GET",status="404",code="1047"}} 1"#),
        format!(r#"{requests}{{route="unmatched",method="POST",status="404",code="1047"}} 1"#),
        // The scrape before this one.
        format!(r#"{requests}{{route="/metrics",method="GET",status="200",code="0"}} 1"#),
        // Latency: 1502, success and 413 by POST.
        format!(
            r#"agentprofile_http_request_duration_seconds_count{{route="{ON_BREAK_ROUTE}",method="POST"}} 3"#
        ),
        format!(
            r#"agentprofile_http_request_duration_seconds_bucket{{route="{ON_BREAK_ROUTE}",method="POST",le="+Inf"}} 3"#
        ),
        // Agent 4711 is logged in (and pinged) and on break; 4712 is in wrap-up, not logged in.
        r#"agentprofile_agents_logged_in{account="acme"} 1"#.to_owned(),
        r#"agentprofile_agents_on_break{account="acme"} 1"#.to_owned(),
        r#"agentprofile_agents_in_wrap_up{account="acme"} 1"#.to_owned(),
        r#"agentprofile_agents_logged_in{account="globex"} 0"#.to_owned(),
        r#"agentprofile_agents_on_break{account="globex"} 0"#.to_owned(),
        r#"agentprofile_agents_in_wrap_up{account="globex"} 0"#.to_owned(),
        "agentprofile_agents_logged_in_all_accounts 1".to_owned(),
        "agentprofile_agents_on_break_all_accounts 1".to_owned(),
        "agentprofile_agents_in_wrap_up_all_accounts 1".to_owned(),
        "agentprofile_agents_per_account_omitted 0".to_owned(),
        "# TYPE agentprofile_http_requests_total counter".to_owned(),
        "# TYPE agentprofile_http_request_duration_seconds histogram".to_owned(),
        format!(
            "agentprofile_db_pool_max_connections {}",
            app.config.db_max_connections
        ),
    ] {
        assert_line(&page, &line);
    }
    for state in ["idle", "in_use"] {
        let prefix = format!(r#"agentprofile_db_pool_connections{{state="{state}"}} "#);
        let value = page
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no pool gauge {state} in\n{page}"));
        assert!(value.parse::<u32>().is_ok(), "{prefix}{value}");
    }

    // No ssid, token, agent id or raw path in any label.
    let values = label_values(&page);
    assert!(values.iter().any(|v| v == "unmatched"), "{values:?}");
    for secret in [
        f.ssid.as_str(),
        f.token.as_str(),
        AGENT,
        OTHER_AGENT,
        "noSuchRoute",
        "/no/such",
    ] {
        assert!(
            !values.iter().any(|v| v.contains(secret)),
            "{secret:?} in a label:\n{page}"
        );
    }
    let routes: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix(r#"agentprofile_http_requests_total{route=""#))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert!(
        routes
            .iter()
            .all(|r| *r == "unmatched" || r.starts_with('/')),
        "{routes:?}"
    );
}

async fn each_server_counts_only_its_own_requests(backend: Backend) {
    let Some(app) = with_account_labels(backend).await else {
        return;
    };
    let f = app.fixture("acme", AGENT).await;
    assert_eq!(app.call_code("agentOnBreak", f.by_ssid()).await, 1502);
    let line = format!(
        r#"agentprofile_http_requests_total{{route="{ON_BREAK_ROUTE}",method="POST",status="200",code="1502"}} 1"#
    );
    assert_line(&scrape(&app).await, &line);

    // A new server on the same database starts from zero.
    let app = app.restart().await;
    let page = scrape(&app).await;
    assert!(!page.contains(ON_BREAK_ROUTE), "{page}");
    assert_line(&page, r#"agentprofile_agents_logged_in{account="acme"} 1"#);
}

/// The default page gives the agent gauges only in all accounts: no `userId` in any label,
/// and `agents_per_account_omitted` says so; METRICS_ACCOUNT_LABELS brings them back.
async fn by_default_no_account_is_named_on_the_page(app: TestApp) {
    assert!(!app.config.metrics_account_labels, "off by default");
    let f = app.fixture("acme", AGENT).await;
    app.admin().create_account("globex", "").await.unwrap();
    app.admin()
        .start_break("acme", AGENT, "Lunch")
        .await
        .unwrap();
    let page = scrape(&app).await;
    assert!(!page.contains("account="), "{page}");
    let values = label_values(&page);
    for user_id in ["acme", "globex"] {
        assert!(!values.iter().any(|v| v.contains(user_id)), "{page}");
    }
    for line in [
        "agentprofile_agents_logged_in_all_accounts 1",
        "agentprofile_agents_on_break_all_accounts 1",
        "agentprofile_agents_in_wrap_up_all_accounts 0",
        "agentprofile_agents_on_call_all_accounts 0",
        "agentprofile_agents_per_account_omitted 1",
    ] {
        assert_line(&page, line);
    }
    assert!(
        page.contains("METRICS_ACCOUNT_LABELS is off"),
        "the help says why: {page}"
    );

    // The same database, with the setting on: per account again.
    let mut app = app;
    app.shutdown().await;
    let db = app.db.take().unwrap();
    let mut config = app.config.clone();
    config.metrics_account_labels = true;
    let app = TestApp::start(db, config).await;
    let page = scrape(&app).await;
    for line in [
        r#"agentprofile_agents_logged_in{account="acme"} 1"#,
        r#"agentprofile_agents_on_break{account="acme"} 1"#,
        r#"agentprofile_agents_on_break{account="globex"} 0"#,
        "agentprofile_agents_on_break_all_accounts 1",
        "agentprofile_agents_per_account_omitted 0",
    ] {
        assert_line(&page, line);
    }
    // Still no secret in a label.
    let values = label_values(&page);
    assert!(!values.iter().any(|v| v.contains(&f.token)), "{page}");
}

async fn state_counts_follow_the_clock_and_drop_accounts_over_the_cap(app: TestApp) {
    app.fixture("acme", AGENT).await;
    let admin = app.admin();
    admin
        .create_agent("acme", agent(OTHER_AGENT))
        .await
        .unwrap();
    admin.start_break("acme", AGENT, "Lunch").await.unwrap();
    admin
        .start_wrap_up("acme", OTHER_AGENT, wrap("call-1", "+15550100", Some(300)))
        .await
        .unwrap();
    admin.create_account("globex", "").await.unwrap();
    let idle = app.config.session_idle_timeout_secs;
    let now = now_unix();

    let counts = app.store.state_counts(now, idle, 2).await.unwrap();
    let accounts = counts.accounts.expect("2 accounts, at most 2 allowed");
    assert_eq!(accounts.len(), 2);
    let acme = accounts.iter().find(|a| a.user_id == "acme").unwrap();
    let globex = accounts.iter().find(|a| a.user_id == "globex").unwrap();
    assert_eq!(
        (
            acme.counts.logged_in,
            acme.counts.on_break,
            acme.counts.in_wrap_up
        ),
        (1, 1, 1)
    );
    assert_eq!(globex.counts, Default::default());
    assert_eq!(counts.total, acme.counts);

    // Over the cap: only the totals.
    let capped = app.store.state_counts(now, idle, 1).await.unwrap();
    assert_eq!(capped.accounts, None);
    assert_eq!(capped.total, acme.counts);

    // Later: the 300 s wrap-up has run out and the unpinged session is idle; the break stays.
    let later = app
        .store
        .state_counts(now + 301.max(idle + 1), idle, 2)
        .await
        .unwrap();
    assert_eq!(
        (
            later.total.logged_in,
            later.total.on_break,
            later.total.in_wrap_up
        ),
        (0, 1, 0)
    );
}

/// With METRICS_TOKEN set, the page needs it as a bearer token.
#[tokio::test]
async fn metrics_token_guards_the_page() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.metrics_token = Some("s3cret".to_owned())
    })
    .await
    .unwrap();
    let (status, _, refused) = app.send(Method::GET, "/metrics", None, None).await;
    assert_eq!((status, refused.as_str()), (401, INVALID_TOKEN.as_str()));
    let (status, _, _) = app
        .send(Method::GET, "/metrics", Some("Bearer nope"), None)
        .await;
    assert_eq!(status, 401);
    let (status, _, page) = app
        .send(Method::GET, "/metrics", Some("Bearer s3cret"), None)
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("agentprofile_http_requests_total"));
}
