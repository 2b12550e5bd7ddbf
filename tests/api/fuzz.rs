//! Property tests (proptest) of request reading and of the auth extractor, against a real
//! server on a fresh SQLite database: whatever the bytes, Content-Type and query string,
//! every answer is HTTP 200 with `application/json; charset=utf-8` and an envelope of the
//! contract, byte for byte; credentials answer exactly what the contract's precedence says;
//! and nothing in the database changes for a request that did not succeed.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{Map, Value, json};

use crate::support::*;

/// The parameter names the routes read, and a few they do not.
const NAMES: [&str; 10] = [
    "ssid",
    "userId",
    "token",
    "agentId",
    "mic_perm",
    "ping_time",
    "reason",
    "x",
    "",
    "ssid ",
];

/// 256 cases per property: a few seconds; no regression files in the tree.
fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    })
}

/// A runtime of the test's own, with a server on a fresh SQLite database and a fixture
/// (account `acme`, agent `7`, a token and a session): proptest's cases are synchronous.
fn server() -> (tokio::runtime::Runtime, TestApp, Fixture) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, fixture) = rt.block_on(async {
        let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
        let fixture = app.fixture("acme", "7").await;
        (app, fixture)
    });
    (rt, app, fixture)
}

/// What requests may change, read behind the server's back: the history, the breaks and
/// wrap-ups, the sessions ended.
async fn fingerprint(app: &TestApp) -> String {
    let sql = "SELECT CAST((SELECT COUNT(*) FROM events) AS TEXT) || '/' ||
                      CAST((SELECT COALESCE(MAX(id), 0) FROM events) AS TEXT) || '/' ||
                      CAST((SELECT COUNT(*) FROM breaks) AS TEXT) || '/' ||
                      CAST((SELECT COUNT(*) FROM wrap_ups) AS TEXT) || '/' ||
                      CAST((SELECT COUNT(*) FROM agent_sessions WHERE ended_at IS NOT NULL) AS TEXT)";
    sql_text(app.db.as_ref().unwrap(), sql).await.unwrap()
}

/// Sends one request; returns the answer's code (0 for a success) after checking that it
/// is one the contract allows, byte for byte.
async fn send(
    app: &TestApp,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> u64 {
    let url = match query {
        "" => format!("{}{path}", app.base),
        q => format!("{}{path}?{q}", app.base),
    };
    let mut req = app.client.post(url).body(body.clone());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").cloned();
    let text = res.text().await.unwrap();
    let what = format!(
        "{path}?{query} {content_type:?} {:?}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(status, 200, "{what}: {text}");
    assert_eq!(
        ct.as_ref().map(|v| v.to_str().unwrap()),
        Some(JSON_UTF8),
        "{what}"
    );
    let answer: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text}"));
    let code = code(&answer);
    match code {
        0 => assert!(
            text.starts_with(r#"{"status":"success","data":{"#),
            "{what}: {text}"
        ),
        1505 => {
            let names = answer["message"]
                .as_str()
                .and_then(|m| m.strip_prefix("Missing required parameters:"))
                .unwrap_or_else(|| panic!("{what}: {text}"));
            assert_eq!(text, missing(names), "{what}");
            for name in names.split(',') {
                assert!(
                    ["ssid", "userId", "token", "agentId", "mic_perm", "reason"].contains(&name),
                    "{what}: {text}"
                );
            }
        }
        // Panics for a code that is not the contract's.
        c => assert_eq!(text, envelope_of(c as u16).unwrap(), "{what}"),
    }
    code
}

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("1"),
            Just("granted"),
            Just("lunch"),
            Just("7"),
            Just(" ")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{0,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: any bytes, any text, a JSON object of known and unknown names (with the real
/// credentials among the values now and then), its form encoding, or those with padding.
fn any_body(fixture: &Fixture) -> impl Strategy<Value = Vec<u8>> + use<> {
    let creds = [
        ("ssid", Value::from(fixture.ssid.clone())),
        ("userId", Value::from("acme")),
        ("token", Value::from(fixture.token.clone())),
        ("agentId", Value::from(7)),
    ];
    let field = (
        prop::sample::select(NAMES.to_vec()),
        prop_oneof![
            3 => any_json(),
            1 => prop::sample::select(creds.to_vec()).prop_map(|(_, v)| v),
        ],
    );
    let object = prop::collection::vec(field, 0..6).prop_map(|fields| {
        let map: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Value::Object(map)
    });
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        ".{0,64}".prop_map(String::into_bytes),
        object.clone().prop_map(|v| v.to_string().into_bytes()),
        (object.clone(), "[ \t\r\n]{0,3}", prop::bool::ANY).prop_map(|(v, pad, bom)| {
            let bom = if bom { "\u{feff}" } else { "" };
            format!("{bom}{pad}{v}{pad}").into_bytes()
        }),
        object.prop_map(|v| form(&v).into_bytes()),
    ]
}

/// The form encoding of an object's fields (non-strings as their JSON text).
fn form(object: &Value) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in object.as_object().unwrap() {
        match v {
            Value::String(s) => out.append_pair(k, s),
            other => out.append_pair(k, &other.to_string()),
        };
    }
    out.finish()
}

fn any_content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("text/plain".to_owned())),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("multipart/form-data; boundary=x".to_owned())),
        Just(Some("".to_owned())),
        "[ -~]{0,24}".prop_map(Some),
    ]
}

fn any_query() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,24}".prop_map(|q| q.replace(['#', ' '], "")),
        prop::collection::vec((prop::sample::select(NAMES.to_vec()), ".{0,8}"), 0..3).prop_map(
            |pairs| {
                let mut out = form_urlencoded::Serializer::new(String::new());
                for (k, v) in pairs {
                    out.append_pair(k, &v);
                }
                out.finish()
            }
        ),
    ]
}

/// Any bytes, any Content-Type, any query string, on every route: an envelope of the
/// contract, and the database unchanged unless the answer is a success.
#[test]
fn any_request_answers_an_envelope_of_the_contract_and_changes_nothing_unless_it_succeeds() {
    let (rt, app, fixture) = server();
    let strategy = (
        prop::sample::select(UPSTREAM_ROUTES.to_vec()),
        prop::sample::select(PREFIXES.to_vec()),
        any_query(),
        any_content_type(),
        any_body(&fixture),
    );
    let successes = std::sync::atomic::AtomicUsize::new(0);
    runner()
        .run(&strategy, |(route, prefix, query, content_type, body)| {
            rt.block_on(async {
                let before = fingerprint(&app).await;
                let path = format!("{prefix}/{route}");
                let code = send(&app, &path, &query, content_type.as_deref(), body).await;
                if code == 0 {
                    successes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                } else {
                    assert_eq!(fingerprint(&app).await, before, "{path}: answered {code}");
                }
            });
            Ok(())
        })
        .unwrap();
    eprintln!("{successes:?} of 256 requests succeeded");
}

/// One credential parameter as a case gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cred {
    Absent,
    Null,
    Blank,
    /// The fixture's (for `agentId`, "7").
    Valid,
    /// The fixture's `agentId` as an integer; another integer for `userId`; for `ssid`
    /// and `token`, an integer (a wrong type in JSON, a wrong value in a form).
    Int,
    Wrong,
    Bool,
}

fn any_cred() -> impl Strategy<Value = Cred> {
    prop::sample::select(vec![
        Cred::Absent,
        Cred::Null,
        Cred::Blank,
        Cred::Valid,
        Cred::Valid,
        Cred::Int,
        Cred::Wrong,
        Cred::Bool,
    ])
}

/// The code the contract's precedence gives these credentials on a read route that has no
/// parameter of its own (`route_code`: its answer for this agent, which is on neither a
/// break nor a wrap-up). `json`: sent as JSON (else as a form, where every value is text).
fn expected(creds: [Cred; 4], json: bool, route_code: u64) -> String {
    let [ssid, user_id, token, agent_id] = creds;
    let code_of = |code: u16| envelope_of(code).unwrap().to_owned();
    // Types first: text only for ssid and token, text or an integer for the ids.
    let text_only = [ssid, token]
        .iter()
        .any(|c| matches!(c, Cred::Int | Cred::Bool));
    if json && (text_only || user_id == Cred::Bool || agent_id == Cred::Bool) {
        return code_of(1001);
    }
    let given = |c: Cred| !matches!(c, Cred::Absent | Cred::Null | Cred::Blank);
    if !given(ssid) {
        let names: Vec<&str> = [("userId", user_id), ("token", token), ("agentId", agent_id)]
            .into_iter()
            .filter(|(_, c)| !given(*c))
            .map(|(name, _)| name)
            .collect();
        if !given(user_id) && !given(token) {
            return missing("ssid");
        }
        if !names.is_empty() {
            return missing(&names.join(","));
        }
    }
    let agent_ok = matches!(agent_id, Cred::Valid | Cred::Int);
    let code = if given(ssid) {
        // ssid with userId or token, or an ssid that is not a live session.
        if given(user_id) || given(token) || ssid != Cred::Valid {
            1000
        } else if given(agent_id) && !agent_ok {
            1501
        } else {
            route_code as u16
        }
    } else if user_id != Cred::Valid || token != Cred::Valid {
        1014
    } else if !agent_ok {
        1501
    } else {
        route_code as u16
    };
    code_of(code)
}

/// Every combination of the four credentials, in JSON or a form, in the body or the query
/// string: exactly the answer the contract's precedence gives, and nothing written.
#[test]
fn credentials_answer_by_the_contracts_precedence() {
    let (rt, app, fixture) = server();
    let value = |name: &str, c: Cred| -> Option<Value> {
        Some(match (name, c) {
            (_, Cred::Absent) => return None,
            (_, Cred::Null) => Value::Null,
            (_, Cred::Blank) => json!("  "),
            (_, Cred::Bool) => json!(true),
            (_, Cred::Wrong) => json!(format!("not-{name}")),
            ("ssid", Cred::Valid) => json!(fixture.ssid),
            ("userId", Cred::Valid) => json!("acme"),
            ("token", Cred::Valid) => json!(fixture.token),
            ("agentId", Cred::Valid) => json!("7"),
            ("agentId", Cred::Int) => json!(7),
            (_, Cred::Int) => json!(4242),
            _ => unreachable!(),
        })
    };
    let routes = [
        ("agentOnBreak", 1502),
        ("wrapUp", 1504),
        ("checkAgentInWrapUp", 1504),
    ];
    let strategy = (
        prop::sample::select(routes.to_vec()),
        [any_cred(), any_cred(), any_cred(), any_cred()],
        // JSON body, form body, or the query string (with an empty body).
        0..3u8,
        any_content_type(),
    );
    let before = rt.block_on(fingerprint(&app));
    runner()
        .run(
            &strategy,
            |((route, route_code), creds, placement, content_type)| {
                // A form or a query has no null, no boolean: those cases are JSON's.
                let json =
                    placement == 0 || creds.iter().any(|c| matches!(c, Cred::Null | Cred::Bool));
                let mut fields = Map::new();
                for (name, c) in ["ssid", "userId", "token", "agentId"]
                    .into_iter()
                    .zip(creds)
                {
                    if let Some(v) = value(name, c) {
                        fields.insert(name.to_owned(), v);
                    }
                }
                let fields = Value::Object(fields);
                let (query, body) = match (json, placement) {
                    (true, _) => (String::new(), fields.to_string()),
                    (false, 1) => (String::new(), form(&fields)),
                    (false, _) => (form(&fields), String::new()),
                };
                let want = if !json && query.is_empty() && body.is_empty() {
                    envelope_of(1047).unwrap().to_owned() // nothing at all to read
                } else {
                    expected(creds, json, route_code)
                };
                let path = format!("{PREFIX}/{route}");
                let res = rt.block_on(async {
                    let mut req = app.client.post(format!("{}{path}?{query}", app.base));
                    if let Some(ct) = &content_type {
                        req = req.header("content-type", ct);
                    }
                    let res = req.body(body.clone()).send().await.unwrap();
                    (res.status().as_u16(), res.text().await.unwrap())
                });
                prop_assert_eq!(
                    res,
                    (200, want),
                    "{} {:?} query {:?} body {:?}",
                    path,
                    creds,
                    query,
                    body
                );
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(
        rt.block_on(fingerprint(&app)),
        before,
        "reads wrote something"
    );
}
