//! The operator's files name only series the server exports: every metric in an `expr` of
//! `deploy/prometheus/alerts.yml` and of the dashboard `deploy/grafana/agentprofile.json` is on
//! a real `GET /metrics` page (SQLite is enough: the page's series do not depend on the
//! database). `promtool check rules` (in `.ci/run`) checks the rules' syntax.

use std::collections::BTreeSet;
use std::path::PathBuf;

use reqwest::Method;
use serde_json::{Value as Json, json};
use serde_yaml_ng::Value as Yaml;

use crate::support::{Backend, PREFIX, TestApp};

const ALERTS: &str = "deploy/prometheus/alerts.yml";
const DASHBOARD: &str = "deploy/grafana/agentprofile.json";
const METRIC: &str = "agentprofile_";

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The series names a Prometheus server stores from this page: from each `# TYPE` line (a
/// counter's samples end in `_total`, a histogram's in `_bucket`, `_sum` and `_count`), and
/// every sample's own name.
fn exported_series(page: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in page.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(kind)) = (parts.next(), parts.next()) else {
                panic!("malformed line: {line}");
            };
            match kind {
                "counter" => {
                    let base = name.strip_suffix("_total").unwrap_or(name);
                    names.insert(format!("{base}_total"));
                }
                "histogram" => {
                    for suffix in ["_bucket", "_sum", "_count"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                "summary" => {
                    names.insert(name.to_owned());
                    for suffix in ["_sum", "_count"] {
                        names.insert(format!("{name}{suffix}"));
                    }
                }
                _ => {
                    names.insert(name.to_owned());
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// The identifiers `agentprofile_[a-z_]+` in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let bytes = expr.as_bytes();
    let mut names = Vec::new();
    let mut from = 0;
    while let Some(at) = expr[from..].find(METRIC).map(|i| from + i) {
        let boundary = at == 0 || {
            let c = bytes[at - 1];
            !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        };
        let mut end = at + METRIC.len();
        while end < bytes.len() && (bytes[end].is_ascii_lowercase() || bytes[end] == b'_') {
            end += 1;
        }
        if boundary {
            names.push(expr[at..end].to_owned());
        }
        from = end;
    }
    names
}

/// `what: name` for each metric of these expressions the page does not export.
fn unknown(exprs: &[(String, String)], exported: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for (what, expr) in exprs {
        let names = metric_names(expr);
        assert!(
            !names.is_empty(),
            "{what} names no agentprofile series: {expr}"
        );
        for name in names {
            if !exported.contains(&name) {
                missing.push(format!("{what}: {name}"));
            }
        }
    }
    missing
}

fn text<'a>(value: &'a Yaml, key: &str, what: &str) -> &'a str {
    value
        .get(key)
        .and_then(Yaml::as_str)
        .unwrap_or_else(|| panic!("{what} has no {key}"))
}

/// The alerting rules: `(alert name, expr)`, each checked for `for`, a severity and a summary
/// and description.
fn alert_exprs() -> Vec<(String, String)> {
    let doc: Yaml = serde_yaml_ng::from_str(&read(ALERTS)).expect("alerts.yml is YAML");
    let groups = doc["groups"].as_sequence().expect("alerts.yml has groups");
    let mut exprs = Vec::new();
    for group in groups {
        for rule in group["rules"].as_sequence().expect("a group has rules") {
            let name = text(rule, "alert", "a rule");
            text(rule, "for", name);
            let severity = text(&rule["labels"], "severity", name);
            assert!(
                ["critical", "warning", "info"].contains(&severity),
                "{name}: severity {severity}"
            );
            text(&rule["annotations"], "summary", name);
            text(&rule["annotations"], "description", name);
            exprs.push((name.to_owned(), text(rule, "expr", name).to_owned()));
        }
    }
    exprs
}

/// Every `expr` in the dashboard, by panel title.
fn dashboard_exprs() -> Vec<(String, String)> {
    let doc: Json = serde_json::from_str(&read(DASHBOARD)).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in doc["panels"].as_array().expect("the dashboard has panels") {
        let title = panel["title"].as_str().expect("a panel has a title");
        let targets = panel["targets"].as_array().expect("a panel has targets");
        assert!(!targets.is_empty(), "panel {title} has no targets");
        for target in targets {
            let expr = target["expr"].as_str().expect("a target has an expr");
            exprs.push((format!("panel {title}"), expr.to_owned()));
        }
    }
    exprs
}

/// The series of a real page. A family no sample was counted in is left off the page, so first
/// a request is answered (`/metrics` itself) and an attempt refused by the throttle (which is on
/// here, at one failure a minute).
async fn scraped_series() -> BTreeSet<String> {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.auth_failures_per_minute = 1)
        .await
        .unwrap();
    // A webhook endpoint that cannot be reached, for the lag gauges (before the throttle blocks
    // this address).
    let f = app.fixture("hooks", "7").await;
    let hook = json!({ "url": "https://hooks.example.invalid/x" });
    app.v1_ok(Method::POST, "/v1/webhooks", &f.token, Some(hook), 201)
        .await;
    app.admin()
        .start_break("hooks", "7", "break")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    while !app
        .get("/metrics")
        .await
        .1
        .contains("agentprofile_webhook_lag_seconds{")
    {
        assert!(started.elapsed().as_secs() < 10, "no webhook lag gauge");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut throttled = false;
    for i in 0..10 {
        let guess = json!({ "userId": "acme", "token": format!("apt_{i:064}"), "agentId": "7" });
        let path = format!("{PREFIX}/agentOnBreak");
        let (status, ..) = app
            .send(Method::POST, &path, None, Some(guess.to_string()))
            .await;
        if status == 429 {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "no attempt was refused with 429");
    assert_eq!(app.get("/metrics").await.0, 200);
    let (status, page) = app.get("/metrics").await;
    assert_eq!(status, 200, "{page}");
    let exported = exported_series(&page);
    for known in [
        "agentprofile_db_up",
        "agentprofile_http_requests_total",
        "agentprofile_http_request_duration_seconds_bucket",
        "agentprofile_auth_throttled_total",
    ] {
        assert!(exported.contains(known), "{known} not read from\n{page}");
    }
    exported
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_name_only_exported_series() {
    let exported = scraped_series().await;
    let exprs = alert_exprs();
    let missing = unknown(&exprs, &exported);
    assert!(
        missing.is_empty(),
        "{ALERTS} names series /metrics does not export:\n  {}\nexported: {exported:?}",
        missing.join("\n  ")
    );
    // The alerts the operators asked for are there.
    let used: BTreeSet<String> = exprs.iter().flat_map(|(_, e)| metric_names(e)).collect();
    for series in [
        "agentprofile_db_up",
        "agentprofile_live_view_up",
        "agentprofile_http_requests_total",
        "agentprofile_auth_throttled_total",
        "agentprofile_pings_pending",
    ] {
        assert!(used.contains(series), "no alert on {series}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_dashboard_names_only_exported_series() {
    let exported = scraped_series().await;
    let missing = unknown(&dashboard_exprs(), &exported);
    assert!(
        missing.is_empty(),
        "{DASHBOARD} names series /metrics does not export:\n  {}\nexported: {exported:?}",
        missing.join("\n  ")
    );
}

/// The check itself: suffixes map to the `# TYPE` lines, and a name the page lacks is caught.
#[test]
fn alerts_check_maps_suffixes_and_catches_unknown_series() {
    let page = "\
# TYPE agentprofile_http_requests_total counter
# TYPE agentprofile_http_request_duration_seconds histogram
# TYPE agentprofile_streams_ended counter
# TYPE agentprofile_db_up gauge
agentprofile_db_up 1
# EOF
";
    let exported = exported_series(page);
    let expr = |e: &str| vec![("rule".to_owned(), e.to_owned())];
    for good in [
        "agentprofile_db_up == 0",
        "rate(agentprofile_http_requests_total{status=~\"5..\"}[5m])",
        "histogram_quantile(0.99, rate(agentprofile_http_request_duration_seconds_bucket[5m]))",
        "agentprofile_http_request_duration_seconds_sum / agentprofile_http_request_duration_seconds_count",
        "rate(agentprofile_streams_ended_total[5m])",
    ] {
        assert_eq!(
            unknown(&expr(good), &exported),
            Vec::<String>::new(),
            "{good}"
        );
    }
    for (bad, name) in [
        ("agentprofile_db_down == 1", "agentprofile_db_down"),
        (
            "rate(agentprofile_http_requests[5m])",
            "agentprofile_http_requests",
        ),
        (
            "agentprofile_http_request_duration_seconds > 1",
            "agentprofile_http_request_duration_seconds",
        ),
        ("agentprofile_db_up_total", "agentprofile_db_up_total"),
    ] {
        assert_eq!(
            unknown(&expr(bad), &exported),
            vec![format!("rule: {name}")],
            "{bad}"
        );
    }
}
