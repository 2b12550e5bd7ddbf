//! Test harness: a real server on a free port with a fresh database of its own, and a
//! real HTTP client. Every conformance test runs once on SQLite and once on PostgreSQL.
//!
//! PostgreSQL comes from TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! each test gets a new database, dropped at the end. Where PostgreSQL cannot be reached the
//! PostgreSQL half is skipped with a loud message, except under CI=true, where it fails.

use std::net::SocketAddr;
use std::sync::Arc;

use agentprofile::app::{self, AppState};
use agentprofile::cli::Operator;
use agentprofile::config::Config;
use agentprofile::domain::{NewAgent, now_unix};
use agentprofile::secrets;
use agentprofile::service::{self, Service, WrapRequest};
use agentprofile::store::Store;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PREFIX: &str = "/api/v2/agentProfile";
/// Both prefixes the upstream routes are served under.
pub const PREFIXES: [&str; 2] = [PREFIX, "/deepcall/api/v2/agentProfile"];
/// Every upstream route.
pub const UPSTREAM_ROUTES: [&str; 7] = [
    "agentOnBreak",
    "setWebPingTime",
    "wrapUp",
    "checkAgentInWrapUp",
    "startBreak",
    "endBreak",
    "endWrapUp",
];
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

// ---------------------------------------------------------------- the contract's error envelopes

pub const INVALID_PARAMETERS: &str =
    r#"{"status":"error","message":"Invalid parameter(s)","code":1000}"#;
pub const INVALID_DATA_TYPE: &str =
    r#"{"status":"error","message":"Invalid data type","code":1001}"#;
pub const DB_CONNECT: &str = r#"{"status":"error","message":"Error in DB connect","code":1010}"#;
pub const INVALID_TOKEN: &str =
    r#"{"status":"error","message":"Invalid token (expired or invalid)","code":1014}"#;
pub const INTERNAL: &str = r#"{"status":"error","message":"Internal server error","code":1032}"#;
pub const SUSPENDED: &str = r#"{"status":"error","message":"User account suspended","code":1039}"#;
pub const INVALID_REQUEST: &str =
    r#"{"status":"error","message":"Invalid Request Data","code":1047}"#;
pub const AGENT_MISMATCH: &str = r#"{"status":"error","message":"Agent id not match","code":1501}"#;
pub const NOT_ON_BREAK: &str = r#"{"status":"error","message":"On break is : 0","code":1502}"#;
pub const SSID_NOT_VALID_FOR_PING: &str =
    r#"{"status":"error","message":"SSID not valid for setWebPingTime","code":1503}"#;
pub const NOT_IN_WRAP_UP: &str =
    r#"{"status":"error","message":"Agent not in wrap time","code":1504}"#;
pub const BAD_PING_TIME: &str = r#"{"status":"error","message":"Cannot update [ping_time] as it is of incompatible type","code":1506}"#;
pub const ALREADY_ON_BREAK: &str =
    r#"{"status":"error","message":"Agent already on break","code":1507}"#;
pub const UNKNOWN_REASON: &str =
    r#"{"status":"error","message":"Unknown break reason","code":1508}"#;
pub const CANNOT_END_EARLY: &str =
    r#"{"status":"error","message":"Wrap-up cannot be ended early","code":1509}"#;
pub const AGENT_DISABLED: &str = r#"{"status":"error","message":"Agent disabled","code":1510}"#;
pub const ALREADY_IN_WRAP_UP: &str =
    r#"{"status":"error","message":"Agent already in wrap time","code":1511}"#;
pub const NOT_FOUND: &str = r#"{"status":"error","message":"Not found","code":1512}"#;
pub const ALREADY_EXISTS: &str = r#"{"status":"error","message":"Already exists","code":1513}"#;
pub const THROTTLED: &str =
    r#"{"status":"error","message":"Too many failed attempts","code":1515}"#;
pub const OUT_OF_SCOPE: &str =
    r#"{"status":"error","message":"Token scope does not allow this","code":1516}"#;

/// The 1505 envelope naming these parameters, e.g. `missing("token,agentId")`.
pub fn missing(names: &str) -> String {
    format!(r#"{{"status":"error","message":"Missing required parameters:{names}","code":1505}}"#)
}

/// The exact envelope of a code; None for 1505, whose message names the parameters.
pub fn envelope_of(code: u16) -> Option<&'static str> {
    Some(match code {
        1505 => return None,
        1000 => INVALID_PARAMETERS,
        1001 => INVALID_DATA_TYPE,
        1010 => DB_CONNECT,
        1014 => INVALID_TOKEN,
        1032 => INTERNAL,
        1039 => SUSPENDED,
        1047 => INVALID_REQUEST,
        1501 => AGENT_MISMATCH,
        1502 => NOT_ON_BREAK,
        1503 => SSID_NOT_VALID_FOR_PING,
        1504 => NOT_IN_WRAP_UP,
        1506 => BAD_PING_TIME,
        1507 => ALREADY_ON_BREAK,
        1508 => UNKNOWN_REASON,
        1509 => CANNOT_END_EARLY,
        1510 => AGENT_DISABLED,
        1511 => ALREADY_IN_WRAP_UP,
        1512 => NOT_FOUND,
        1513 => ALREADY_EXISTS,
        1515 => THROTTLED,
        1516 => OUT_OF_SCOPE,
        other => panic!("{other} is not a code of the contract"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's database lives; dropping it removes the database.
pub enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let (url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a thread of its own may block.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut conn)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether this is CI (CI=true): there, what a test needs and lacks is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl TestDb {
    /// A fresh database, or None (PostgreSQL unreachable outside CI: skipped loudly).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::Sqlite(tempfile::tempdir().unwrap())),
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let mut conn = match sqlx::PgConnection::connect(&admin_url).await {
                    Ok(conn) => conn,
                    Err(err) if !in_ci() => {
                        eprintln!(
                            "\n!!! SKIPPED on PostgreSQL: cannot reach TEST_DATABASE_URL ({err}).\n\
                             !!! Start PostgreSQL or set TEST_DATABASE_URL; under CI=true this fails.\n"
                        );
                        return None;
                    }
                    Err(err) => {
                        panic!("CI=true and PostgreSQL is unreachable at TEST_DATABASE_URL: {err}")
                    }
                };
                let name = format!(
                    "agentprofile_test_{}",
                    agentprofile::secrets::new_ssid()[..16].to_owned()
                );
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                Some(TestDb::Postgres { admin_url, name })
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => format!("sqlite://{}", dir.path().join("test.db").display()),
            TestDb::Postgres { admin_url, name } => {
                let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
                url.set_path(name);
                url.to_string()
            }
        }
    }
}

/// A test configuration: the defaults, this database, no demo, no environment.
pub fn test_config(db: &TestDb) -> Config {
    let mut config = Config::defaults();
    config.database_url = db.url();
    config.demo_seed = false;
    config.bind_addr = "127.0.0.1:0".parse().unwrap();
    // Histories as the requests make them: no presence events, no wrap-up ended by the
    // sweeper, unless a test turns it on.
    config.sweep_interval_ms = 0;
    // Many tests send bad credentials on purpose; the throttle's own tests turn it on.
    config.auth_failures_per_minute = 0;
    config
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    /// The server's own service: changes made through it are the server's.
    pub service: Service,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    // Last, so the database outlives the server.
    pub db: Option<TestDb>,
}

/// A new agent of this id, with the account's wrap-up policy.
pub fn agent(agent_id: &str) -> NewAgent {
    NewAgent {
        agent_id: agent_id.to_owned(),
        ..NewAgent::default()
    }
}

/// A wrap-up for this call and customer, of `seconds` (None: the policy's length).
pub fn wrap(call_id: &str, customer_number: &str, seconds: Option<i64>) -> WrapRequest {
    WrapRequest {
        call_id: call_id.to_owned(),
        customer_number: customer_number.to_owned(),
        seconds,
    }
}

pub struct Fixture {
    pub user_id: String,
    pub agent_id: String,
    pub token: String,
    pub ssid: String,
}

impl Fixture {
    /// Upstream credentials by session: `{"ssid": …}`.
    pub fn by_ssid(&self) -> Value {
        json!({ "ssid": self.ssid })
    }

    /// Upstream credentials by token, for the fixture's agent.
    pub fn by_token(&self) -> Value {
        self.by_token_for(self.agent_id.as_str())
    }

    /// Upstream credentials by token, naming this agent id (a string or an integer).
    pub fn by_token_for(&self, agent_id: impl Into<Value>) -> Value {
        json!({ "userId": self.user_id, "token": self.token, "agentId": agent_id.into() })
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        let config = test_config(&db);
        Some(TestApp::start(db, config).await)
    }

    /// A server on a fresh database, with `configure` applied to the test configuration;
    /// None where the database is skipped (as in `spawn`).
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        let mut config = test_config(&db);
        configure(&mut config);
        Some(TestApp::start(db, config).await)
    }

    /// Starts a server on an existing database with this configuration.
    pub async fn start(db: TestDb, config: Config) -> TestApp {
        let store = service::connect(&config)
            .await
            .expect("connect test database");
        let listener = tokio::net::TcpListener::bind(config.bind_addr)
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(Service::new(store.clone(), std::sync::Arc::new(config.clone())));
        let service = state.service.clone();
        let server = tokio::spawn(app::serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
            service,
            config,
            stop: Some(stop),
            server: Some(server),
            db: Some(db),
        }
    }

    /// Stops the server (letting in-flight requests finish) and starts a new one on the same database.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown().await;
        let db = self.db.take().unwrap();
        let config = self.config.clone();
        TestApp::start(db, config).await
    }

    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    pub fn admin(&self) -> Operator<'_> {
        Operator {
            service: &self.service,
        }
    }

    /// An account with one agent, a token and a live session.
    pub async fn fixture(&self, user_id: &str, agent_id: &str) -> Fixture {
        let admin = self.admin();
        if admin.account(user_id).await.is_err() {
            admin.create_account(user_id, "").await.unwrap();
        }
        admin.create_agent(user_id, agent(agent_id)).await.unwrap();
        Fixture {
            user_id: user_id.to_owned(),
            agent_id: agent_id.to_owned(),
            token: admin.create_token(user_id).await.unwrap(),
            ssid: admin.create_session(user_id, agent_id).await.unwrap(),
        }
    }

    // ------------------------------------------------------------ requests

    /// A request with this Authorization header (or none) and body (or none): the HTTP
    /// status, the Content-Type and the body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<String>,
    ) -> (u16, String, String) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(auth) = authorization {
            req = req.header("authorization", auth);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, res.text().await.unwrap())
    }

    // ------------------------------------------------------------ the upstream routes

    /// GETs a path of this server; returns the HTTP status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// POSTs a raw body (no Content-Type) to an upstream route; returns the HTTP status and body.
    pub async fn post_raw(&self, route: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        self.post_raw_at(PREFIX, route, body).await
    }

    /// `post_raw` under another prefix (such as `/deepcall/api/v2/agentProfile`).
    pub async fn post_raw_at(
        &self,
        prefix: &str,
        route: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, String) {
        let res = self
            .client
            .post(format!("{}{prefix}/{route}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// POSTs a JSON value as the body and parses the answer, which must be HTTP 200 JSON.
    pub async fn call(&self, route: &str, body: Value) -> Value {
        self.call_at(PREFIX, route, body).await
    }

    /// `call` under another prefix (such as `/deepcall/api/v2/agentProfile`).
    pub async fn call_at(&self, prefix: &str, route: &str, body: Value) -> Value {
        let (status, text) = self.post_raw_at(prefix, route, body.to_string()).await;
        assert_eq!(status, 200, "{route} {body} answered HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }

    /// The envelope code a call answers (0 for a success); the call must be HTTP 200 JSON.
    pub async fn call_code(&self, route: &str, body: Value) -> u64 {
        code(&self.call(route, body).await)
    }

    /// A call that must succeed; returns its `data`.
    pub async fn call_ok(&self, route: &str, body: Value) -> Value {
        let answer = self.call(route, body.clone()).await;
        assert_eq!(code(&answer), 0, "{route} {body}: {answer}");
        answer["data"].clone()
    }

    // ------------------------------------------------------------ the management API (/v1)

    /// A /v1 call with the account's token: the HTTP status and the body as text (always JSON).
    pub async fn v1_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let auth = format!("Bearer {token}");
        let body = body.map(|b| b.to_string());
        let (status, content_type, text) = self.send(method, path, Some(&auth), body).await;
        assert_eq!(content_type, JSON_UTF8, "{path}");
        (status, text)
    }

    /// A /v1 call: the HTTP status and the parsed answer.
    pub async fn v1(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.v1_raw(method.clone(), path, token, body).await;
        let answer = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: HTTP {status}, not JSON: {text}"));
        (status, answer)
    }

    /// A /v1 call that must succeed with HTTP `want`; returns its `data`.
    pub async fn v1_ok(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let (status, answer) = self.v1(method.clone(), path, token, body).await;
        assert_eq!(status, want, "{method} {path}: {answer}");
        assert_eq!(answer["status"], "success", "{answer}");
        answer["data"].clone()
    }

    /// A /v1 GET that must succeed with HTTP 200; returns its `data`.
    pub async fn v1_get(&self, path: &str, token: &str) -> Value {
        self.v1_ok(Method::GET, path, token, None, 200).await
    }

    /// A /v1 call that must fail with exactly this (HTTP status, code) and its envelope.
    pub async fn v1_err(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
        want: (u16, u16),
    ) {
        let (status, text) = self.v1_raw(method.clone(), path, token, body.clone()).await;
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (status, code(&answer) as u16),
            want,
            "{method} {path} {body:?}: {text}"
        );
        match envelope_of(want.1) {
            Some(expected) => assert_eq!(text, expected, "{method} {path}"),
            None => assert!(
                answer["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Missing required parameters:"),
                "{text}"
            ),
        }
    }

    /// A new account and an API token of it.
    pub async fn new_account(&self, user_id: &str) -> String {
        self.admin().create_account(user_id, "").await.unwrap();
        self.admin().create_token(user_id).await.unwrap()
    }

    /// Creates an agent through /v1 (HTTP 201); returns it.
    pub async fn create_agent(&self, token: &str, body: Value) -> Value {
        self.v1_ok(Method::POST, "/v1/agents", token, Some(body), 201)
            .await
    }

    /// Creates a break reason through /v1 (HTTP 201); returns it.
    pub async fn create_reason(&self, token: &str, body: Value) -> Value {
        let path = "/v1/break-reasons";
        self.v1_ok(Method::POST, path, token, Some(body), 201).await
    }

    /// Logs the agent in through /v1; returns the ssid.
    pub async fn login(&self, token: &str, agent_id: &str) -> String {
        let path = format!("/v1/agents/{agent_id}/sessions");
        let data = self.v1_ok(Method::POST, &path, token, None, 201).await;
        data["ssid"].as_str().unwrap().to_owned()
    }

    /// The events of one history query that must fit in one page.
    pub async fn events(&self, token: &str, path: &str) -> Vec<Value> {
        let data = self.v1_get(path, token).await;
        assert_eq!(data["nextCursor"], Value::Null, "{path}: {data}");
        data["items"].as_array().unwrap().clone()
    }

    /// The agent's whole history, oldest first.
    pub async fn history(&self, token: &str, agent_id: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let path = format!("/v1/agents/{agent_id}/events?limit=500{cursor}");
            let data = self.v1_get(&path, token).await;
            all.extend(data["items"].as_array().unwrap().iter().cloned());
            match data["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => return all,
            }
        }
    }

    /// The account's roster.
    pub async fn roster(&self, token: &str) -> Vec<Value> {
        let data = self.v1_get("/v1/roster", token).await;
        data.as_array().unwrap().clone()
    }

    /// The roster entry of one agent.
    pub async fn roster_entry(&self, token: &str, agent_id: &str) -> Value {
        let roster = self.roster(token).await;
        roster
            .iter()
            .find(|e| e["agentId"] == agent_id)
            .unwrap_or_else(|| panic!("agent {agent_id} not in roster {roster:?}"))
            .clone()
    }

    /// The history's actor for this API token: `token:<pk>`.
    pub async fn token_actor(&self, token: &str) -> String {
        let (_, token) = self
            .store
            .token_account(&secrets::hash(token))
            .await
            .unwrap()
            .expect("token exists");
        format!("token:{}", token.id)
    }

    /// The database id of this session.
    pub async fn session_pk(&self, ssid: &str) -> i64 {
        let ctx = self.store.session(&secrets::hash(ssid)).await.unwrap();
        ctx.expect("session exists").session.id
    }

    /// The history's actor for this session: `session:<pk>`.
    pub async fn session_actor(&self, ssid: &str) -> String {
        format!("session:{}", self.session_pk(ssid).await)
    }
}

/// The `code` of an error envelope, or 0 for a success.
pub fn code(answer: &Value) -> u64 {
    match answer["status"].as_str() {
        Some("success") => 0,
        Some("error") => answer["code"].as_u64().expect("error has a code"),
        _ => panic!("not an envelope: {answer}"),
    }
}

/// POSTs a raw body to an upstream route and checks the answer byte for byte: this HTTP
/// status, the JSON content type, exactly `expected`.
pub async fn expect_raw(app: &TestApp, route: &str, body: &str, status: u16, expected: &str) {
    let path = format!("{PREFIX}/{route}");
    let (got_status, content_type, text) = app
        .send(Method::POST, &path, None, Some(body.to_owned()))
        .await;
    assert_eq!(
        (got_status, text.as_str()),
        (status, expected),
        "{route} {body}"
    );
    assert_eq!(content_type, JSON_UTF8, "{route} {body}");
}

/// POSTs `body` as JSON to an upstream route and expects exactly `expected` (an error
/// envelope) with HTTP 200.
pub async fn expect(app: &TestApp, route: &str, body: Value, expected: &str) {
    expect_raw(app, route, &body.to_string(), 200, expected).await;
}

/// Whether this Unix time is within two seconds of now.
pub fn near_now(t: &Value) -> bool {
    t.as_i64().is_some_and(|t| (t - now_unix()).abs() <= 2)
}

/// Declares tests that each run on both databases: `async fn name(app: TestApp)` bodies
/// become `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// The first column of the first row of `sql`, read behind the server's back, as text
/// (`CAST(… AS TEXT)` in the query); None for no row or NULL.
pub async fn sql_text(db: &TestDb, sql: &str) -> Option<String> {
    let row: Option<(Option<String>,)> = match db {
        TestDb::Sqlite(_) => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
            sqlx::query_as(sql).fetch_optional(&mut conn).await.unwrap()
        }
        TestDb::Postgres { .. } => {
            let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
            sqlx::query_as(sql).fetch_optional(&mut conn).await.unwrap()
        }
    };
    row.and_then(|(value,)| value)
}

/// Runs SQL (one or more statements) on `db` behind the server's back.
pub async fn sql_exec(db: &TestDb, statements: &str) {
    match db {
        TestDb::Sqlite(_) => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url()).await.unwrap();
            sqlx::raw_sql(statements).execute(&mut conn).await.unwrap();
        }
        TestDb::Postgres { .. } => {
            let mut conn = sqlx::PgConnection::connect(&db.url()).await.unwrap();
            sqlx::raw_sql(statements).execute(&mut conn).await.unwrap();
        }
    }
}

/// Tests that start their own server with a configuration of their own:
/// `async fn name(backend: Backend)`, run once per database.
macro_rules! on_both_databases_with_own_config {
    ($($name:ident),* $(,)?) => {
        mod sqlite_own_config {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres_own_config {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// A free port on 127.0.0.1 (free when asked; a server started on it right after gets it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A service of the test's own on `db`, to set things up as the CLI would (on PostgreSQL its
/// changes are announced like any instance's).
pub async fn operator_on(db: &TestDb) -> Service {
    let config = test_config(db);
    let store = service::connect(&config).await.unwrap();
    Service::new(store, Arc::new(config))
}

/// The account `acme` with these agents on `db`, made by a service of the test's own
/// (returned, to make more).
pub async fn acme_on(db: &TestDb, agents: &[impl AsRef<str>]) -> Service {
    let service = operator_on(db).await;
    let admin = Operator { service: &service };
    admin.create_account("acme", "").await.unwrap();
    for id in agents {
        admin
            .create_agent("acme", agent(id.as_ref()))
            .await
            .unwrap();
    }
    service
}

/// The server binary as it is deployed: a process on `db`, configured by its environment
/// only (no `.env`), on its own port.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub base: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts it on `port` with `env`, and waits until its live view is up.
    pub async fn start_on(db: &TestDb, port: u16, env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::start_with(db, port, env, |_| {}).await
    }

    /// `start_on`, with `prepare` applied to the command before it is spawned (e.g. a
    /// `pre_exec` that sets what the process inherits).
    pub async fn start_with(
        db: &TestDb,
        port: u16,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&mut tokio::process::Command),
    ) -> ServerProcess {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentprofile"));
        cmd.env_clear()
            .env("DATABASE_URL", db.url())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DEMO_SEED", "false")
            .env("LOG_LEVEL", "warn")
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true);
        if std::env::var_os("TEST_LOG").is_none() {
            cmd.stderr(std::process::Stdio::null());
        }
        prepare(&mut cmd);
        let server = ServerProcess {
            child: cmd.spawn().expect("start the server"),
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            _dir: dir,
        };
        server.until_live().await;
        server
    }

    /// Starts it on a free port.
    pub async fn start(db: &TestDb, env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::start_on(db, free_port(), env).await
    }

    /// Waits until the server answers and its live view is up (its feed is listening).
    pub async fn until_live(&self) {
        let started = std::time::Instant::now();
        while !self.metrics().await.contains("agentprofile_live_view_up 1") {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "no live server"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The metrics page, or nothing while the server does not answer.
    pub async fn metrics(&self) -> String {
        match self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
        {
            Ok(res) => res.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// SIGKILL: nothing is flushed, nothing is finished.
    pub async fn kill9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}
