//! The reference page's snippets as their clients really put them on the wire, hostile
//! bodies, and the HTTP-level rules (404, 405, 413, CORS, health), on both databases.
//!
//! Requests are written as raw bytes over TCP so that nothing (no HTTP client library)
//! normalises the Content-Type, the Content-Length or the body on the way.

use std::net::SocketAddr;
use std::time::Duration;

use crate::support::{
    AGENT_MISMATCH, Fixture, INVALID_DATA_TYPE, INVALID_PARAMETERS, INVALID_REQUEST, JSON_UTF8,
    NOT_ON_BREAK, PREFIX, TestApp,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

on_both_databases! {
    each_reference_snippet_is_read_as_json, the_pages_raw_request_gets_the_pages_58_byte_answer,
    python_http_client_empty_content_length_is_refused_by_hyper,
    form_bodies_query_strings_and_the_deepcall_prefix,
    hostile_bodies_answer_1047_and_the_server_carries_on, numbers_json_cannot_hold_as_integers,
    nul_characters_never_reach_the_database_as_errors, bodies_over_the_limit_answer_413,
    empty_requests_answer_1047, unknown_paths_answer_404_in_the_envelope,
    other_methods_answer_405_in_the_envelope, cors_preflight_and_credentialed_requests,
    health_and_readiness,
}

const ON_BREAK: &str = "/api/v2/agentProfile/agentOnBreak";
const FORM: &str = "Content-Type: application/x-www-form-urlencoded";

// ---------------------------------------------------------------------------------------
// The raw HTTP helper
// ---------------------------------------------------------------------------------------

/// An HTTP answer as it came off the wire.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    /// The first header of this name (case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the answer is UTF-8")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON (HTTP {}): {:?}", self.status, self.text()))
    }
}

/// Sends `request` byte for byte and reads the answer until the server closes the connection.
async fn raw(app: &TestApp, request: &[u8]) -> Answer {
    let wire = tokio::time::timeout(Duration::from_secs(10), exchange(app.addr, request))
        .await
        .expect("the server answered and closed the connection within 10 s");
    parse_answer(&wire)
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (413, 400) and close before it has read everything we send.
    let _ = stream.write_all(request).await;
    let mut wire = Vec::new();
    loop {
        match stream.read_buf(&mut wire).await {
            Ok(0) => return wire,
            Ok(_) => {}
            // A reset after the answer arrived: the server closed with our bytes unread.
            Err(_) if !wire.is_empty() => return wire,
            Err(err) => panic!("no answer: {err}"),
        }
    }
}

fn parse_answer(wire: &[u8]) -> Answer {
    let split = wire
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(wire)));
    let head = std::str::from_utf8(&wire[..split]).expect("headers are ASCII");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    Answer {
        status,
        headers,
        body: wire[split + 4..].to_vec(),
    }
}

/// A request as most clients send it: Host, the given header lines, a correct
/// Content-Length and `Connection: close`.
fn request(app: &TestApp, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", app.addr);
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    [head.as_bytes(), body].concat()
}

async fn post(app: &TestApp, path: &str, headers: &[&str], body: impl AsRef<[u8]>) -> Answer {
    raw(app, &request(app, "POST", path, headers, body.as_ref())).await
}

// ---------------------------------------------------------------------------------------
// Expectations
// ---------------------------------------------------------------------------------------

/// The exact error envelope, its HTTP status, a matching Content-Length and the JSON type.
fn assert_error(answer: &Answer, status: u16, expected: &str) {
    assert_eq!(
        (answer.status, answer.text()),
        (status, expected),
        "headers: {:?}",
        answer.headers
    );
    assert_eq!(answer.header("content-type"), Some(JSON_UTF8));
    assert_eq!(
        answer.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
}

fn assert_1047(answer: &Answer, status: u16) {
    assert_error(answer, status, &INVALID_REQUEST);
}

/// A successful agentOnBreak for the fixture agent, on its "Lunch" break.
fn assert_on_break(answer: &Answer) {
    assert_eq!(answer.status, 200, "{:?}", answer.text());
    assert_eq!(answer.header("content-type"), Some(JSON_UTF8));
    let answer = answer.json();
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(answer["data"]["on_break"], 1);
    assert_eq!(answer["data"]["agent_id"], "7");
    assert_eq!(answer["data"]["user_id"], "acme");
    assert_eq!(answer["data"]["breakDetail"]["reason"], "Lunch");
}

/// `{"ssid":"…"}`, compact.
fn ssid_json(ssid: &str) -> String {
    format!(r#"{{"ssid":"{ssid}"}}"#)
}

/// The body of the page's curl and HTTP snippets: the Postman export indents with four
/// spaces (the page's raw request says `Content-Length: 30` for it with the 13-character
/// `{{agentssid}}` placeholder).
fn postman_json(ssid: &str) -> String {
    format!("{{\n    \"ssid\":\"{ssid}\"\n}}")
}

/// The server still answers normally, and the agent is still on its break.
async fn assert_still_serving(app: &TestApp, f: &Fixture) {
    assert_on_break(&post(app, ON_BREAK, &[], ssid_json(&f.ssid)).await);
}

/// Account "acme" with agent "7", on a "Lunch" break.
async fn agent_on_break(app: &TestApp) -> Fixture {
    let f = app.fixture("acme", "7").await;
    app.admin().start_break("acme", "7", "Lunch").await.unwrap();
    f
}

// ---------------------------------------------------------------------------------------
// The reference page's clients
// ---------------------------------------------------------------------------------------

async fn each_reference_snippet_is_read_as_json(app: TestApp) {
    let f = agent_on_break(&app).await;
    let ssid = &f.ssid;
    let indented = postman_json(ssid);
    assert_eq!(indented.len(), 30 - "{{agentssid}}".len() + ssid.len());
    let one_space = format!("{{\n \"ssid\":\"{ssid}\"\n}}");
    let compact = ssid_json(ssid);
    let crlf = format!("{{\r\n    \"ssid\":\"{ssid}\"\r\n}}\r\n");

    let clients: [(&str, &[&str], &str); 9] = [
        // curl --data-raw picks the form type for whatever it sends.
        (
            "curl --data-raw",
            &["User-Agent: curl/8.5.0", "Accept: */*", FORM],
            &indented,
        ),
        // axios and Ruby Net::HTTP also label a string body as a form.
        (
            "axios",
            &["Accept: application/json, text/plain, */*", FORM],
            &compact,
        ),
        (
            "OkHttp",
            &["Content-Type: text/plain; charset=utf-8"],
            &one_space,
        ),
        ("RestSharp", &["Content-Type: text/plain"], &one_space),
        (
            "fetch",
            &[
                "Content-Type: text/plain;charset=UTF-8",
                "Origin: https://crm.example.com",
            ],
            &one_space,
        ),
        (
            "Go net/http (no Content-Type)",
            &["User-Agent: Go-http-client/1.1"],
            &indented,
        ),
        (
            "Dart http (text/plain)",
            &["Content-Type: text/plain; charset=utf-8"],
            &one_space,
        ),
        (
            "a proper JSON client",
            &["Content-Type: application/json"],
            &compact,
        ),
        ("a Windows client (CRLF line ends)", &[FORM], &crlf),
    ];
    for (client, headers, body) in clients {
        let answer = post(&app, ON_BREAK, headers, body).await;
        assert_eq!(answer.status, 200, "{client}: {:?}", answer.text());
        assert_on_break(&answer);
    }

    // A streaming client (Node's http.request without a length): chunked, in two pieces.
    let (first, second) = indented.split_at(10);
    let wire = format!(
        "POST {ON_BREAK} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        app.addr,
        first.len(),
        second.len()
    );
    assert_on_break(&raw(&app, wire.as_bytes()).await);
}

async fn the_pages_raw_request_gets_the_pages_58_byte_answer(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    // The "HTTP" snippet of the page, byte for byte: no Content-Type, a correct length.
    let body = postman_json(&f.ssid);
    let wire = format!(
        "POST /api/v2/agentProfile/agentOnBreak HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    let answer = raw(&app, wire.as_bytes()).await;
    assert_error(&answer, 200, &NOT_ON_BREAK);
    assert_eq!(
        answer.text(),
        r#"{"status":"error","message":"On break is : 0","code":1502}"#
    );
    assert_eq!(answer.header("content-length"), Some("58"));
}

/// Python's http.client sends the snippet's `'Content-Length': ''` as a header with an
/// empty value (and the body after it). That is malformed framing: hyper refuses it with
/// `400 Bad Request` and an empty body while parsing the request head, before any of our
/// code (router, layers, envelope) runs, so this answer is hyper's, not the contract's.
/// (Browsers' fetch, OkHttp, axios, Net::HTTP and libcurl replace or drop an empty
/// Content-Length; only clients that send it verbatim meet this.)
async fn python_http_client_empty_content_length_is_refused_by_hyper(app: TestApp) {
    let f = agent_on_break(&app).await;
    let wire = format!(
        "POST /api/v2/agentProfile/agentOnBreak HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: identity\r\nContent-Length: \r\nConnection: close\r\n\r\n{}",
        app.addr,
        ssid_json(&f.ssid)
    );
    let answer = raw(&app, wire.as_bytes()).await;
    assert_eq!(answer.status, 400, "headers: {:?}", answer.headers);
    assert_eq!(answer.text(), "");
    assert_eq!(answer.header("content-length"), Some("0"));
    assert_eq!(answer.header("connection"), Some("close"));
    // No content type: none of our layers saw the request.
    assert_eq!(answer.header("content-type"), None);
    // The same request with the length filled in, as every other client sends it, works,
    // and the refusal did not disturb the server.
    assert_on_break(
        &post(
            &app,
            ON_BREAK,
            &["Accept-Encoding: identity"],
            ssid_json(&f.ssid),
        )
        .await,
    );
}

async fn form_bodies_query_strings_and_the_deepcall_prefix(app: TestApp) {
    let f = agent_on_break(&app).await;
    let ssid = &f.ssid;

    // A real urlencoded form.
    assert_on_break(&post(&app, ON_BREAK, &[FORM], format!("ssid={ssid}")).await);
    assert_on_break(&post(&app, ON_BREAK, &[FORM], format!("ssid={ssid}&agentId=7")).await);
    let other_agent = post(&app, ON_BREAK, &[FORM], format!("ssid={ssid}&agentId=8")).await;
    assert_error(&other_agent, 200, &AGENT_MISMATCH);
    let ping = post(
        &app,
        &format!("{PREFIX}/setWebPingTime"),
        &[FORM],
        format!("ssid={ssid}&mic_perm=granted"),
    )
    .await;
    assert_eq!(
        (ping.status, ping.json()["data"]["mic_perm"].clone()),
        (200, json!(1)),
        "{}",
        ping.text()
    );

    // The query string with an empty body.
    assert_on_break(&post(&app, &format!("{ON_BREAK}?ssid={ssid}"), &[], "").await);
    // A body field wins over the query field of the same name, both ways round.
    assert_on_break(
        &post(
            &app,
            &format!("{ON_BREAK}?ssid=not-a-session"),
            &[],
            ssid_json(ssid),
        )
        .await,
    );
    let answer = post(
        &app,
        &format!("{ON_BREAK}?ssid={ssid}"),
        &[],
        ssid_json("not-a-session"),
    )
    .await;
    assert_error(&answer, 200, &INVALID_PARAMETERS);

    // Upstream's documented base URL.
    let deepcall = "/deepcall/api/v2/agentProfile/agentOnBreak";
    assert_on_break(&post(&app, deepcall, &[FORM], postman_json(ssid)).await);
    assert_on_break(&post(&app, &format!("{deepcall}?ssid={ssid}"), &[], "").await);
}

// ---------------------------------------------------------------------------------------
// Hostile bodies
// ---------------------------------------------------------------------------------------

async fn hostile_bodies_answer_1047_and_the_server_carries_on(app: TestApp) {
    let f = agent_on_break(&app).await;
    // Well-formed but deeper than any parser should recurse, and still under the body limit.
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(2_500), "}".repeat(2_500));
    let deep_arrays = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    let unclosed = "[".repeat(10_000);
    let limit = app.config.body_limit_bytes as usize;
    for deep in [&deep_objects, &deep_arrays, &unclosed] {
        assert!(deep.len() < limit, "keep the nesting under the body limit");
    }
    let hostile: [(&str, &[u8]); 15] = [
        ("broken JSON", br#"{"ssid":"#),
        ("a JSON array", br#"[{"ssid":"x"}]"#),
        ("a JSON string", br#""ssid""#),
        ("null", b"null"),
        ("a number", b"42"),
        ("true", b"true"),
        ("objects nested 2500 deep", deep_objects.as_bytes()),
        ("arrays nested 8000 deep", deep_arrays.as_bytes()),
        ("10 000 unclosed arrays", unclosed.as_bytes()),
        ("invalid UTF-8 in JSON", b"{\"ssid\":\"\xff\xfe\"}"),
        ("invalid UTF-8 in a form", b"ssid=\xc3\x28"),
        ("a percent-encoded invalid UTF-8 form", b"ssid=%FF%FE"),
        ("form garbage", b"hello"),
        ("a form pair without a key", b"=x&ssid=y"),
        (
            "a number beyond f64",
            br#"{"userId":1e400,"token":"x","agentId":1}"#,
        ),
    ];
    let content_types: [&[&str]; 3] = [&[], &[FORM], &["Content-Type: application/json"]];
    for (what, body) in hostile {
        for headers in content_types {
            let answer = post(&app, ON_BREAK, headers, body).await;
            assert_eq!(
                answer.status,
                200,
                "{what} with {headers:?}: {:?}",
                answer.text()
            );
            assert_1047(&answer, 200);
        }
    }
    // Still serving, and the agent's state untouched.
    assert_still_serving(&app, &f).await;
}

/// JSON numbers that no integer type holds: a float is not an id (1001).
async fn numbers_json_cannot_hold_as_integers(app: TestApp) {
    let f = agent_on_break(&app).await;
    let cases = [
        r#"{"userId":123456789012345678901234567890,"token":"x","agentId":1}"#.to_owned(),
        format!(r#"{{"userId":"acme","token":"{}","agentId":7.0}}"#, f.token),
        format!(r#"{{"userId":"acme","token":"{}","agentId":1e3}}"#, f.token),
        format!(r#"{{"ssid":"{}","agentId":-7.5}}"#, f.ssid),
    ];
    for body in cases {
        let answer = post(&app, ON_BREAK, &[], &body).await;
        assert_eq!(answer.status, 200, "{body}");
        assert_error(&answer, 200, &INVALID_DATA_TYPE);
    }
    // An integer past i64 but within u64 is still an integer id: it just names no agent.
    let body = format!(
        r#"{{"userId":"acme","token":"{}","agentId":18446744073709551615}}"#,
        f.token
    );
    assert_error(&post(&app, ON_BREAK, &[], body).await, 200, &AGENT_MISMATCH);
}

/// A NUL character is valid JSON; PostgreSQL text cannot hold it, and no id contains one.
/// Such a parameter is of the wrong kind (1001), on both databases, never a 1032.
async fn nul_characters_never_reach_the_database_as_errors(app: TestApp) {
    let f = agent_on_break(&app).await;
    let cases = [
        r#"{"ssid":"a\u0000b"}"#.to_owned(),
        r#"{"userId":"acme\u0000","token":"x","agentId":"7"}"#.to_owned(),
        format!(
            r#"{{"userId":"acme","token":"{}","agentId":"7\u0000"}}"#,
            f.token
        ),
        format!("ssid={}&agentId=7%00", f.ssid),
    ];
    let mut wrong = Vec::new();
    for body in cases {
        let answer = post(&app, ON_BREAK, &[], &body).await;
        if (answer.status, answer.text()) != (200, INVALID_DATA_TYPE.as_str()) {
            wrong.push(format!(
                "{body} -> HTTP {} {}",
                answer.status,
                answer.text()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected the authentication errors, got:\n{}",
        wrong.join("\n")
    );
}

/// A JSON body of exactly `len` bytes that carries the ssid and padding.
fn padded_body(ssid: &str, len: usize) -> String {
    let head = format!(r#"{{"ssid":"{ssid}","pad":""#);
    let body = format!("{head}{}\"}}", "x".repeat(len - head.len() - 2));
    assert_eq!(body.len(), len);
    body
}

async fn bodies_over_the_limit_answer_413(app: TestApp) {
    let f = agent_on_break(&app).await;
    let limit = app.config.body_limit_bytes as usize;
    assert_eq!(limit, 16_384, "the default BODY_LIMIT_BYTES");

    // At the limit: read as usual.
    assert_on_break(&post(&app, ON_BREAK, &[], padded_body(&f.ssid, limit)).await);
    // One byte over, with a Content-Length and with a chunked body of unknown length.
    let over = padded_body(&f.ssid, limit + 1);
    assert_1047(
        &post(&app, ON_BREAK, &["Content-Type: text/plain"], &over).await,
        413,
    );
    let chunked = format!(
        "POST {ON_BREAK} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{over}\r\n0\r\n\r\n",
        app.addr,
        over.len()
    );
    assert_1047(&raw(&app, chunked.as_bytes()).await, 413);
    // Far over (1 MiB).
    let huge = padded_body(&f.ssid, 1 << 20);
    assert_1047(&post(&app, ON_BREAK, &[], &huge).await, 413);

    assert_still_serving(&app, &f).await;
}

async fn empty_requests_answer_1047(app: TestApp) {
    let f = agent_on_break(&app).await;
    for body in ["", " ", "\r\n\t \n"] {
        for headers in [&[][..], &[FORM], &["Content-Type: text/plain"]] {
            assert_1047(&post(&app, ON_BREAK, headers, body).await, 200);
        }
    }
    // A bare `?` is an empty query string too.
    assert_1047(&post(&app, &format!("{ON_BREAK}?"), &[], "").await, 200);
    // No Content-Length at all (an HTTP/1.1 POST with no body).
    let wire = format!(
        "POST {ON_BREAK} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        app.addr
    );
    assert_1047(&raw(&app, wire.as_bytes()).await, 200);
    assert_still_serving(&app, &f).await;
}

// ---------------------------------------------------------------------------------------
// HTTP-level rules
// ---------------------------------------------------------------------------------------

async fn unknown_paths_answer_404_in_the_envelope(app: TestApp) {
    let f = app.fixture("acme", "7").await;
    let body = ssid_json(&f.ssid);
    for path in [
        "/",
        "/api/v2/agentProfile",
        "/api/v2/agentProfile/agentOnBreaks",
        "/api/v2/agentProfile/agentonbreak",
        "/api/v1/agentProfile/agentOnBreak",
        "/deepcall/api/v2/agentProfile/nothing",
        "/api/v2/agentProfile/agentOnBreak/extra",
    ] {
        let answer = post(&app, path, &[], &body).await;
        assert_eq!(answer.status, 404, "POST {path}");
        assert_1047(&answer, 404);
    }
    let answer = raw(&app, &request(&app, "GET", "/favicon.ico", &[], b"")).await;
    assert_1047(&answer, 404);
}

async fn other_methods_answer_405_in_the_envelope(app: TestApp) {
    let f = agent_on_break(&app).await;
    let body = ssid_json(&f.ssid);
    for path in [
        ON_BREAK,
        "/api/v2/agentProfile/setWebPingTime",
        "/deepcall/api/v2/agentProfile/wrapUp",
        "/deepcall/api/v2/agentProfile/checkAgentInWrapUp",
    ] {
        for method in ["GET", "PUT", "PATCH", "DELETE"] {
            let answer = raw(&app, &request(&app, method, path, &[], body.as_bytes())).await;
            assert_eq!(answer.status, 405, "{method} {path}");
            assert_1047(&answer, 405);
        }
    }
    // The answer does not leak the break: a GET with the ssid in the query is still 405.
    let answer = raw(
        &app,
        &request(
            &app,
            "GET",
            &format!("{ON_BREAK}?ssid={}", f.ssid),
            &[],
            b"",
        ),
    )
    .await;
    assert_1047(&answer, 405);
}

async fn cors_preflight_and_credentialed_requests(app: TestApp) {
    let f = agent_on_break(&app).await;
    let origin = "https://crm.example.com";
    let preflight = request(
        &app,
        "OPTIONS",
        ON_BREAK,
        &[
            &format!("Origin: {origin}"),
            "Access-Control-Request-Method: POST",
            "Access-Control-Request-Headers: content-type,x-requested-with",
        ],
        b"",
    );
    let answer = raw(&app, &preflight).await;
    assert_eq!(answer.status, 200, "headers: {:?}", answer.headers);
    assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    let list = |name: &str| -> Vec<String> {
        let value = answer.header(name).unwrap_or_else(|| panic!("no {name}"));
        value
            .split(',')
            .map(|v| v.trim().to_ascii_lowercase())
            .collect()
    };
    assert!(list("access-control-allow-methods").contains(&"post".to_owned()));
    let allowed_headers = list("access-control-allow-headers");
    for header in ["x-requested-with", "content-type"] {
        assert!(
            allowed_headers.contains(&header.to_owned()),
            "{allowed_headers:?}"
        );
    }
    // The answer depends on the Origin, so caches must key on it.
    assert!(
        list("vary").contains(&"origin".to_owned()),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.header("content-type"), Some(JSON_UTF8));

    // The browser's actual request, and an error answer, carry the CORS headers too.
    let origin_header = format!("Origin: {origin}");
    let headers = [origin_header.as_str(), "X-Requested-With: XMLHttpRequest"];
    let answer = post(&app, ON_BREAK, &headers, ssid_json(&f.ssid)).await;
    assert_on_break(&answer);
    assert_eq!(answer.header("access-control-allow-origin"), Some(origin));
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    // Error answers too, so that the browser's script can read the envelope.
    let big = "x".repeat(app.config.body_limit_bytes as usize + 1);
    for (path, body, status) in [
        (ON_BREAK, "{", 200),
        ("/nowhere", "{}", 404),
        (ON_BREAK, &big, 413),
    ] {
        let answer = post(&app, path, &headers, body).await;
        assert_1047(&answer, status);
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some(origin),
            "HTTP {status}"
        );
    }
}

async fn health_and_readiness(app: TestApp) {
    let answer = raw(&app, &request(&app, "GET", "/healthz", &[], b"")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some(JSON_UTF8));
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": {"alive": true}})
    );

    let answer = raw(&app, &request(&app, "GET", "/readyz", &[], b"")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some(JSON_UTF8));
    let database = if app.config.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(
        answer.json(),
        json!({"status": "success", "data": {"ready": true, "database": database}})
    );
}
