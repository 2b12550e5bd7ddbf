//! The management API (`/v1`), by resource; the helpers its tests share.

mod agents;
mod external_ssid;
mod history;
mod states;
mod tokens;

use serde_json::Value;

use crate::support::TestApp;

/// Every item of a paged list, walking `nextCursor` with this page size; checks each page.
pub async fn walk(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut url = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let data = app.v1_get(&url, token).await;
        let page = data["items"].as_array().unwrap();
        assert!(page.len() <= limit, "{url}: {data}");
        items.extend(page.iter().cloned());
        match &data["nextCursor"] {
            Value::Null => return items,
            Value::String(next) => {
                assert_eq!(page.len(), limit, "a short page has no next one: {data}");
                cursor = Some(next.clone());
            }
            other => panic!("nextCursor is a string or null, not {other}"),
        }
    }
    panic!("{path}: the cursor never reached the end");
}

/// The account's whole history in one page.
pub async fn account_history(app: &TestApp, token: &str) -> Vec<Value> {
    app.events(token, "/v1/events?limit=500").await
}

/// Upstream calls made in this order, each of which must answer its code.
pub async fn upstream_steps(app: &TestApp, steps: &[(&str, Value, u64)]) {
    for (route, body, want) in steps {
        let got = app.call_code(route, body.clone()).await;
        assert_eq!(got, *want, "{route} {body}");
    }
}

pub fn kinds_and_actors(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}
