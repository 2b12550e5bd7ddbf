//! Headers every answer carries: `X-Content-Type-Options: nosniff` on every kind of answer
//! (success, error envelope, unknown path, the metrics, the docs and the board), and
//! `Strict-Transport-Security` only when HSTS is configured.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

on_both_databases_with_own_config! {
    every_answer_is_nosniff_and_hsts_only_when_asked,
}

/// A sample of every kind of answer: upstream success and error, /v1 error, 404, /metrics,
/// /docs, /board and /healthz.
async fn headers_of_every_kind(app: &TestApp) -> Vec<(String, reqwest::header::HeaderMap)> {
    let f = app.fixture("acme", "7").await;
    let calls = [
        (
            Method::POST,
            format!("{PREFIX}/agentOnBreak"),
            Some(f.by_ssid()),
        ),
        (
            Method::POST,
            format!("{PREFIX}/wrapUp"),
            Some(json!({"ssid": "nope"})),
        ),
        (Method::GET, "/v1/roster".to_owned(), None),
        (Method::GET, "/nowhere".to_owned(), None),
        (Method::GET, "/metrics".to_owned(), None),
        (Method::GET, "/docs/".to_owned(), None),
        (Method::GET, "/board".to_owned(), None),
        (Method::GET, "/healthz".to_owned(), None),
    ];
    let mut out = Vec::new();
    for (method, path, body) in calls {
        let mut req = app.client.request(method, format!("{}{path}", app.base));
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
        let res = req.send().await.unwrap();
        out.push((path, res.headers().clone()));
    }
    out
}

async fn every_answer_is_nosniff_and_hsts_only_when_asked(backend: Backend) {
    for hsts in [false, true] {
        let Some(app) = TestApp::spawn_with(backend, |c| c.hsts = hsts).await else {
            return;
        };
        for (path, headers) in headers_of_every_kind(&app).await {
            assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(
                headers.get_all("x-content-type-options").iter().count(),
                1,
                "{path}"
            );
            match hsts {
                false => assert!(!headers.contains_key("strict-transport-security"), "{path}"),
                true => assert_eq!(
                    headers["strict-transport-security"], "max-age=31536000; includeSubDomains",
                    "{path}"
                ),
            }
        }
    }
}
