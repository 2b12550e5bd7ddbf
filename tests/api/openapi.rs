//! `/openapi.json` describes exactly the routes the server answers, every error code with its
//! exact message, in a structurally sound OpenAPI 3.1 document; `/docs` works offline.

use std::collections::{BTreeMap, BTreeSet};

use crate::contract::contract_codes;
use crate::support::{PREFIXES, TestApp, UPSTREAM_ROUTES, code};
use reqwest::Method;
use serde_json::{Value, json};

on_both_databases! {
    the_description_lists_exactly_the_routes_the_server_answers,
    every_error_code_of_the_contract_is_documented_with_its_message,
    the_description_is_structurally_sound, the_docs_page_is_served_from_our_own_assets,
}

/// Every route that is not on the upstream surface, as (method, path).
const OTHER_ROUTES: [(&str, &str); 44] = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/v1/account"),
    ("patch", "/v1/account"),
    ("get", "/v1/agents"),
    ("post", "/v1/agents"),
    ("get", "/v1/agents/{agent_id}"),
    ("patch", "/v1/agents/{agent_id}"),
    ("post", "/v1/agents/{agent_id}/disable"),
    ("post", "/v1/agents/{agent_id}/enable"),
    ("post", "/v1/agents/{agent_id}/sessions"),
    ("delete", "/v1/agents/{agent_id}/sessions"),
    ("post", "/v1/sessions/logout"),
    ("post", "/v1/agents/{agent_id}/break"),
    ("delete", "/v1/agents/{agent_id}/break"),
    ("post", "/v1/agents/{agent_id}/wrap-up"),
    ("delete", "/v1/agents/{agent_id}/wrap-up"),
    ("post", "/v1/agents/{agent_id}/call"),
    ("delete", "/v1/agents/{agent_id}/call"),
    ("get", "/v1/agents/{agent_id}/events"),
    ("get", "/v1/agents/{agent_id}/tags"),
    ("post", "/v1/agents/{agent_id}/tags"),
    ("get", "/v1/events"),
    ("get", "/v1/break-reasons"),
    ("post", "/v1/break-reasons"),
    ("patch", "/v1/break-reasons/{code}"),
    ("get", "/v1/reports/agent-states"),
    ("get", "/v1/reports/summary"),
    ("get", "/v1/roster"),
    ("get", "/v1/stream"),
    ("post", "/v1/stream/tickets"),
    ("get", "/v1/tokens"),
    ("post", "/v1/tokens"),
    ("delete", "/v1/tokens/{token_id}"),
    ("get", "/v1/webhooks"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks/{webhook_id}"),
    ("patch", "/v1/webhooks/{webhook_id}"),
    ("delete", "/v1/webhooks/{webhook_id}"),
    ("post", "/v1/webhooks/{webhook_id}/rotate"),
    ("post", "/v1/webhooks/{webhook_id}/test"),
    ("get", "/v1/webhooks/{webhook_id}/deliveries"),
    ("post", "/v1/webhooks/{webhook_id}/replay"),
];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn expected_routes() -> BTreeSet<(String, String)> {
    let mut routes: BTreeSet<(String, String)> = OTHER_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    for prefix in PREFIXES {
        for route in UPSTREAM_ROUTES {
            routes.insert(("post".to_owned(), format!("{prefix}/{route}")));
        }
    }
    routes
}

/// The (method, path) of every operation in the description.
fn documented_routes(spec: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths is an object") {
        for method in METHODS {
            if item.get(method).is_some() {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

async fn get_spec(app: &TestApp) -> Value {
    let (status, content_type, text) = app.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let spec: Value = serde_json::from_str(&text).expect("/openapi.json is JSON");
    assert!(
        spec["openapi"].as_str().unwrap_or("").starts_with("3.1."),
        "OpenAPI 3.1: {}",
        spec["openapi"]
    );
    assert!(!spec["info"]["title"].as_str().unwrap_or("").is_empty());
    assert!(!spec["info"]["version"].as_str().unwrap_or("").is_empty());
    spec
}

/// Sends `method path` as a client of that surface would, with real credentials and a body
/// that the route can act on.
async fn send(app: &TestApp, method: &str, path: &str, ssid: &str, token: &str) -> (u16, Value) {
    let path = path
        .replace("{agent_id}", "7")
        .replace("{code}", "lunch")
        // The token `POST /v1/tokens` made (the fixture's is 1): deletes come after posts.
        .replace("{token_id}", "2")
        .replace("{webhook_id}", "1");
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let mut req = app
        .client
        .request(method.clone(), format!("{}{path}", app.base));
    if PREFIXES.iter().any(|p| path.starts_with(p)) {
        let body = json!({ "ssid": ssid, "mic_perm": "granted", "reason": "lunch" });
        req = req.body(body.to_string());
    } else {
        req = req.bearer_auth(token);
        let body = match (method.as_str(), path.as_str()) {
            ("GET", _) => None,
            ("POST", "/v1/agents") => Some(json!({"agentId": 8, "name": "Eight"})),
            ("POST", "/v1/agents/7/break") => Some(json!({"reason": "lunch"})),
            ("POST", "/v1/agents/7/wrap-up") => Some(json!({"callId": "c-1", "cNumber": "+1"})),
            ("POST", "/v1/break-reasons") => Some(json!({"code": "coffee", "label": "Coffee"})),
            ("POST", "/v1/sessions/logout") => Some(json!({ "ssid": ssid })),
            ("POST", "/v1/webhooks") => Some(json!({"url": "https://hooks.example.invalid/x",
                "events": ["break.*"]})),
            ("POST", "/v1/webhooks/1/replay") => Some(json!({"from": 1})),
            ("POST", "/v1/agents/7/tags") => Some(json!({"title": "Call back",
                "action": {"type": "callback", "callId": "c-1", "cNumber": "+1"}})),
            _ => Some(json!({})),
        };
        if let Some(body) = body {
            req = req.body(body.to_string());
        }
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    if res.headers()["content-type"] == "text/event-stream" {
        // The event stream: it never ends by itself; its opening comment shows it is one.
        let mut res = res;
        let first = res.chunk().await.unwrap().unwrap_or_default();
        assert!(
            first.starts_with(b"retry: 2000\n: open\n"),
            "{path}: {first:?}"
        );
        return (status, Value::Null);
    }
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body)
}

/// Whether `value` has the shape `schema` describes: `$ref`, `oneOf`, `allOf`, `type`, `enum`,
/// `required`, `properties` and `items`. A plain object schema is closed: an answer's key that
/// is not documented is an error.
fn conforms(spec: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    conforms_in(spec, schema, value, at, true)
}

fn conforms_in(
    spec: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    closed: bool,
) -> Result<(), String> {
    if let Some(target) = schema["$ref"].as_str() {
        let resolved = spec
            .pointer(target.trim_start_matches('#'))
            .ok_or_else(|| format!("{at}: {target} does not resolve"))?;
        return conforms_in(spec, resolved, value, at, closed);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|o| conforms_in(spec, o, value, at, closed).is_ok())
            .count();
        if matching != 1 {
            return Err(format!("{at}: {value} matches {matching} of {schema}"));
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            conforms_in(spec, part, value, at, false)?;
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = |t: &&str| match *t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(type_ok) {
        return Err(format!("{at}: {value} is not of type {:?}", types));
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.contains(value) {
            return Err(format!("{at}: {value} is not one of {values:?}"));
        }
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                return Err(format!("{at}: {name} is missing from {value}"));
            }
        }
        for (key, field) in object {
            match properties.get(key) {
                Some(property) => conforms_in(spec, property, field, &format!("{at}.{key}"), true)?,
                None if closed => return Err(format!("{at}.{key} is not documented")),
                None => {}
            }
        }
    }
    if let (Some(items), Some(item_schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            conforms_in(spec, item_schema, item, &format!("{at}[{i}]"), true)?;
        }
    }
    Ok(())
}

/// The order to call the routes in: the upstream ones while the agent is logged in, reads,
/// starts, ends, and last what logs the agent out or disables them.
fn call_order(method: &str, path: &str) -> u8 {
    match (method, path) {
        _ if PREFIXES.iter().any(|p| path.starts_with(p)) => 0,
        ("get", _) => 1,
        ("post", "/v1/sessions/logout") => 4,
        ("delete", "/v1/agents/{agent_id}/sessions") => 5,
        ("post", "/v1/agents/{agent_id}/disable") => 6,
        ("delete", _) => 3,
        _ => 2,
    }
}

async fn the_description_lists_exactly_the_routes_the_server_answers(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    // Webhook 1, for the routes that name one (read before `POST /v1/webhooks` runs).
    let hook = json!({"url": "https://hooks.example.invalid/first"});
    app.v1_ok(Method::POST, "/v1/webhooks", &f.token, Some(hook), 201)
        .await;
    let spec = get_spec(&app).await;

    // One source: what is served is what the code generates.
    let generated = serde_json::to_value(crate::support::openapi()).unwrap();
    assert_eq!(spec, generated);

    let documented = documented_routes(&spec);
    let expected = expected_routes();
    assert_eq!(
        documented,
        expected,
        "\nundocumented: {:?}\nnot expected: {:?}",
        expected.difference(&documented).collect::<Vec<_>>(),
        documented.difference(&expected).collect::<Vec<_>>(),
    );

    // Every documented operation is answered (not the router's 404 or 405), with a status it
    // documents and the shape documented for that status.
    let mut calls: Vec<&(String, String)> = documented.iter().collect();
    calls.sort_by_key(|(method, path)| call_order(method, path));
    let mut successes = 0;
    for (method, path) in calls {
        let (status, body) = send(&app, method, path, &f.ssid, &f.token).await;
        let what = format!("{method} {path} answered {status}: {body}");
        assert!(status != 404 && status != 405, "{what}");
        if PREFIXES.iter().any(|p| path.starts_with(p)) {
            assert_eq!(status, 200, "{what}");
        }
        let response = &spec["paths"][path][method]["responses"][status.to_string()];
        assert!(response.is_object(), "{what}: status not documented");
        if body["status"] == "success" {
            successes += 1;
        }
        if let Some(schema) = response["content"]["application/json"].get("schema") {
            if let Err(err) = conforms(&spec, schema, &body, "answer") {
                panic!("{what}\n{err}");
            }
        }
    }
    assert!(
        successes >= 25,
        "only {successes} successes: the calls prove little"
    );

    // …and every other method on a documented path is the router's 405.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if documented.contains(&(method.to_owned(), path.clone())) {
                continue;
            }
            let (status, body) = send(&app, method, path, &f.ssid, &f.token).await;
            assert_eq!(status, 405, "{method} {path} is not documented: {body}");
            assert_eq!(code(&body), 1047, "{method} {path}: {body}");
        }
    }
}

async fn every_error_code_of_the_contract_is_documented_with_its_message(app: TestApp) {
    let spec = get_spec(&app).await;
    let envelope = &spec["components"]["schemas"]["ErrorEnvelope"];
    assert_eq!(
        envelope["required"],
        json!(["status", "message", "code"]),
        "{envelope}"
    );
    assert_eq!(envelope["properties"]["status"]["enum"], json!(["error"]));
    let codes: BTreeSet<u64> = envelope["properties"]["code"]["enum"]
        .as_array()
        .expect("the envelope's code lists every code")
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    let table = envelope["description"].as_str().unwrap();
    let info = spec["info"]["description"].as_str().unwrap();
    for (code, message) in contract_codes() {
        assert!(codes.contains(&code), "{code} is not in the code enum");
        let row = format!("| {code} | `{message}");
        assert!(table.contains(&row), "{row} is not in the envelope's table");
        assert!(info.contains(&row), "{row} is not in the info's table");
    }
    assert!(table.contains("| 1505 | `Missing required parameters:NAME[,NAME…]` |"));
    // The codes the server can answer are exactly the contract's.
    let contract: BTreeSet<u64> = contract_codes().iter().map(|(c, _)| *c).collect();
    assert_eq!(codes, contract);
    // The statuses that are not 200, with the envelope.
    for status in ["404", "405", "413", "503"] {
        assert!(
            table.contains(&format!("| {status} |")),
            "HTTP {status} is not in the table"
        );
    }
}

/// Every `"$ref"` in the document, with where it is.
fn refs<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(target)) => out.push((at.to_owned(), target)),
                    _ => refs(v, &format!("{at}/{key}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

async fn the_description_is_structurally_sound(app: TestApp) {
    let spec = get_spec(&app).await;
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearerToken"]["type"], "http");
    assert_eq!(schemes["bearerToken"]["scheme"], "bearer");

    let mut refs_found = Vec::new();
    refs(&spec, "#", &mut refs_found);
    assert!(!refs_found.is_empty());
    for (at, target) in refs_found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{at}: {target} is not a schema reference"));
        assert!(
            schemas.contains_key(name),
            "{at}: {target} does not resolve"
        );
    }

    let mut operation_ids = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let template_params: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let what = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{what}: no id"));
            if let Some(other) = operation_ids.insert(id.to_owned(), what.clone()) {
                panic!("{what} and {other} share the operationId {id}");
            }
            assert!(op["summary"].is_string(), "{what}: no summary");

            let responses = op["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{what}: no responses");
            for (status, response) in responses {
                assert!(
                    response["description"].is_string(),
                    "{what} {status}: no description"
                );
                let success = status.starts_with('2');
                if status == "200" && path == "/v1/stream" {
                    let stream = &response["content"]["text/event-stream"];
                    assert!(stream.is_object(), "{what} {status}: no event stream");
                } else if status != "200" || !path.starts_with("/openapi") {
                    let schema = &response["content"]["application/json"]["schema"];
                    assert!(schema.is_object(), "{what} {status}: no JSON schema");
                    if !success {
                        assert_eq!(
                            schema["$ref"], "#/components/schemas/ErrorEnvelope",
                            "{what} {status}"
                        );
                    }
                }
            }

            let path_params: BTreeSet<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(p["required"], true, "{what}: {p}");
                    p["name"].as_str().unwrap()
                })
                .collect();
            assert_eq!(path_params, template_params, "{what}: path parameters");

            if path.starts_with("/v1/") {
                assert_eq!(op["security"], json!([{"bearerToken": []}]), "{what}");
                if let Some(body) = op.get("requestBody") {
                    // An empty body reads as `{}`.
                    assert_eq!(body["required"], false, "{what}");
                }
                for status in ["401", "403", "500", "503"] {
                    assert!(responses.contains_key(status), "{what}: no {status}");
                }
            }
            if PREFIXES.iter().any(|p| path.starts_with(p)) {
                assert!(responses.contains_key("200"), "{what}: no 200");
                for status in ["413", "503"] {
                    assert!(responses.contains_key(status), "{what}: no {status}");
                }
                let body = &op["requestBody"];
                assert_eq!(body["required"], true, "{what}");
                for content_type in [
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "text/plain",
                ] {
                    assert!(
                        body["content"][content_type]["schema"].is_object(),
                        "{what}: no {content_type} body"
                    );
                }
                // Both ways to authenticate are described.
                let text = body["description"].as_str().unwrap();
                assert!(
                    text.contains("`ssid`") && text.contains("`token`"),
                    "{what}"
                );
            }
        }
    }

    // The request schemas: both ways to authenticate, and each route's own required field.
    let credentials = &schemas["Credentials"]["oneOf"];
    assert_eq!(
        credentials,
        &json!([
            {"$ref": "#/components/schemas/SessionAuth"},
            {"$ref": "#/components/schemas/TokenAuth"}
        ])
    );
    assert_eq!(schemas["SessionAuth"]["required"], json!(["ssid"]));
    assert_eq!(
        schemas["TokenAuth"]["required"],
        json!(["userId", "token", "agentId"])
    );
    let required_of = |name: &str| -> Value {
        schemas[name]["allOf"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|part| part.get("required").cloned())
            .unwrap()
    };
    assert_eq!(required_of("SetWebPingTimeRequest"), json!(["mic_perm"]));
    assert_eq!(required_of("StartBreakRequest"), json!(["reason"]));
}

/// The `src` and `href` attribute values of an HTML page.
fn asset_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            let end = rest.find('"').unwrap();
            urls.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    urls
}

async fn the_docs_page_is_served_from_our_own_assets(app: TestApp) {
    for page in ["/docs", "/docs/"] {
        let (status, content_type, html) = app.send(Method::GET, page, None, None).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            content_type.starts_with("text/html"),
            "{page}: {content_type}"
        );
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(
            !html.contains("http://") && !html.contains("https://") && !html.contains("\"//"),
            "{page} refers to another host: {html}"
        );

        // Relative URLs resolve against `/docs/` (the page pins its base), and we serve each.
        assert!(html.contains("<base href=\"/docs/\">"), "{html}");
        let assets = asset_urls(&html);
        let scripts = assets.iter().filter(|u| u.ends_with(".js")).count();
        assert!(scripts >= 2, "{assets:?}");
        for asset in assets.iter().filter(|u| *u != "/docs/") {
            let url = format!("{}/docs/{}", app.base, asset.trim_start_matches("./"));
            let res = app.client.get(&url).send().await.unwrap();
            assert_eq!(res.status(), 200, "{url}");
            let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(
                !content_type.starts_with("application/json"),
                "{url}: {content_type}"
            );
            assert!(!res.bytes().await.unwrap().is_empty(), "{url}");
        }
    }

    // The page loads our description, and sends it to no online validator.
    let initializer = "/docs/swagger-initializer.js";
    let (_, _, init) = app.send(Method::GET, initializer, None, None).await;
    assert!(init.contains("\"/openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");

    // A file that is not there: the usual 404 envelope.
    let (status, _, body) = app
        .send(Method::GET, "/docs/nothing-here.js", None, None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(code(&serde_json::from_str(&body).unwrap()), 1047);
}
