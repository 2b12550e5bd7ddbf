//! The Postman collection (postman/agentprofile.postman_collection.json) agrees with the
//! server: run in order against a real server, as newman would, every request answers as
//! its saved example says (HTTP status, envelope status and code), and every route of the
//! server's OpenAPI description has a request in the collection.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::TestApp;
use serde_json::Value;

fn collection() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/postman/agentprofile.postman_collection.json"
    ))
    .unwrap();
    serde_json::from_str(&text).expect("the collection is JSON")
}

/// Every request of the collection, depth first (the order Postman runs them in).
fn requests(items: &Value, out: &mut Vec<Value>) {
    for item in items.as_array().unwrap() {
        match item.get("item") {
            Some(children) => requests(children, out),
            None => out.push(item.clone()),
        }
    }
}

/// Replaces `{{name}}` with the variable's value (and Postman's `{{$timestamp}}`).
fn fill(text: &str, vars: &[(String, String)]) -> String {
    let mut out = text.replace("{{$timestamp}}", &crate::support::now_unix().to_string());
    for (key, value) in vars {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

on_both_databases!(every_request_answers_as_its_saved_example_says);

async fn every_request_answers_as_its_saved_example_says(app: TestApp) {
    let c = collection();
    assert_eq!(
        c["info"]["schema"],
        "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
    );
    let defaults: Vec<String> = c["variable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_owned())
        .collect();
    for name in ["brand", "agentssid", "userId", "token", "agentId"] {
        assert!(defaults.contains(&name.to_owned()), "variable {name}");
    }

    app.admin().create_account("acme", "ACME").await.unwrap();
    let token = app.admin().create_token("acme").await.unwrap();
    let mut vars = vec![
        ("brand".to_owned(), app.base.clone()),
        ("userId".to_owned(), "acme".to_owned()),
        ("token".to_owned(), token),
        ("agentId".to_owned(), "postman-1".to_owned()),
    ];

    let mut all = Vec::new();
    requests(&c["item"], &mut all);
    assert!(all.len() >= 30, "{} requests", all.len());
    for item in all {
        let name = item["name"].as_str().unwrap();
        let req = &item["request"];
        let example = &item["response"][0];
        let url = fill(req["url"]["raw"].as_str().unwrap(), &vars);
        let method =
            reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut call = app.client.request(method, &url);
        for h in req["header"].as_array().unwrap() {
            call = call.header(
                h["key"].as_str().unwrap(),
                fill(h["value"].as_str().unwrap(), &vars),
            );
        }
        if let Some(raw) = req["body"]["raw"].as_str() {
            call = call.body(fill(raw, &vars));
        }
        let mut res = call.send().await.unwrap();
        let status = res.status().as_u16();
        assert!(example.is_object(), "{name}: no saved example");
        if res.headers()["content-type"] == "text/event-stream" {
            // The event stream never ends by itself: what it replays first is checked.
            assert_eq!(status, example["code"].as_u64().unwrap() as u16, "{name}");
            let mut text = String::new();
            while !text.contains("\ndata: ") {
                let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
                    .await
                    .expect("an event in the stream")
                    .unwrap()
                    .expect("the stream stays open");
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
            assert!(
                text.starts_with("retry: 2000\n: open\n\nid: "),
                "{name}: {text}"
            );
            continue;
        }
        let answer: Value = res.json().await.unwrap();

        let saved: Value = serde_json::from_str(example["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            status,
            example["code"].as_u64().unwrap() as u16,
            "{name}: {answer}"
        );
        assert_eq!(answer["status"], saved["status"], "{name}: {answer}");
        assert_eq!(answer["code"], saved["code"], "{name}: {answer}");
        if let (Some(got), Some(want)) = (answer["data"].as_object(), saved["data"].as_object()) {
            let (got, want): (BTreeSet<_>, BTreeSet<_>) =
                (got.keys().collect(), want.keys().collect());
            assert_eq!(got, want, "{name}: the saved example's fields");
        }
        // The scripts the collection runs besides its checks: keep the new ssid and ticket.
        if let Some(ssid) = answer["data"]["ssid"].as_str() {
            vars.push(("agentssid".to_owned(), ssid.to_owned()));
        }
        if let Some(ticket) = answer["data"]["ticket"].as_str() {
            vars.push(("streamTicket".to_owned(), ticket.to_owned()));
        }
        if answer["data"]["secret"].is_string() && name.starts_with("Register") {
            vars.push(("webhookId".to_owned(), answer["data"]["id"].to_string()));
        }
        if answer["data"]["token"].is_string() {
            vars.push(("newTokenId".to_owned(), answer["data"]["id"].to_string()));
        }
    }
}

/// A `/`-separated path matches a template where `{param}` stands for any one segment.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
}

/// Every route the server documents (its router and its OpenAPI description are built from
/// one source) has a request in the collection, and every request names one of them.
#[test]
fn the_collection_and_the_router_name_the_same_routes() {
    let spec = serde_json::to_value(crate::support::openapi()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(routes.len() > 30, "{routes:?}");

    let mut all = Vec::new();
    requests(&collection()["item"], &mut all);
    let mut covered = BTreeSet::new();
    for item in &all {
        let method = item["request"]["method"].as_str().unwrap().to_owned();
        let raw = item["request"]["url"]["raw"].as_str().unwrap();
        let path = raw
            .strip_prefix("{{brand}}")
            .unwrap_or_else(|| panic!("{raw} does not start with {{{{brand}}}}"))
            .split('?')
            .next()
            .unwrap()
            .replace("{{agentId}}", "7");
        let route = routes
            .iter()
            .find(|(m, t)| *m == method && matches(t, &path))
            .unwrap_or_else(|| panic!("{method} {path}: no such route on the server"));
        covered.insert(route.clone());
    }
    // The /deepcall prefix serves the same routes: one request under it shows it, and each
    // upstream route is covered under either prefix.
    let without_prefix = |(m, p): &(String, String)| {
        (
            m.clone(),
            p.strip_prefix("/deepcall").unwrap_or(p).to_owned(),
        )
    };
    assert!(covered.iter().any(|(_, p)| p.starts_with("/deepcall/")));
    let covered: BTreeSet<_> = covered.iter().map(without_prefix).collect();
    let missing: Vec<_> = routes
        .iter()
        .map(without_prefix)
        .filter(|route| !covered.contains(route))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a request in the collection: {missing:?}"
    );
}
