//! Test harness: a real server on a free port with a fresh database of its own, and a
//! real HTTP client. Every conformance test runs once on SQLite and once on PostgreSQL.
//!
//! PostgreSQL comes from TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! each test gets a new database, dropped at the end. Where PostgreSQL cannot be reached the
//! PostgreSQL half is skipped with a loud message, except under CI=true, where it fails.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use agentprofile::admin::Admin;
use agentprofile::app::{self, AppState};
use agentprofile::config::Config;
use agentprofile::store::{self, Store};
use serde_json::Value;
use sqlx::Connection;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PREFIX: &str = "/api/v2/agentProfile";

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

fn in_ci() -> bool {
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
    config
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    // Last, so the database outlives the server.
    pub db: Option<TestDb>,
}

pub struct Fixture {
    pub user_id: String,
    pub agent_id: String,
    pub token: String,
    pub ssid: String,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let db = TestDb::new(backend).await?;
        let config = test_config(&db);
        Some(TestApp::start(db, config).await)
    }

    /// Starts a server on an existing database with this configuration.
    pub async fn start(db: TestDb, config: Config) -> TestApp {
        let store = store::connect(&config)
            .await
            .expect("connect test database");
        let listener = tokio::net::TcpListener::bind(config.bind_addr)
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store.clone(), config.clone());
        let server = tokio::spawn(app::serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            store,
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

    pub fn admin(&self) -> Admin<'_> {
        Admin {
            store: self.store.as_ref(),
            config: &self.config,
        }
    }

    /// An account with one agent, a token and a live session.
    pub async fn fixture(&self, user_id: &str, agent_id: &str) -> Fixture {
        let admin = self.admin();
        if admin.account(user_id).await.is_err() {
            admin.create_account(user_id, "").await.unwrap();
        }
        admin
            .create_agent(user_id, agent_id, "", None)
            .await
            .unwrap();
        Fixture {
            user_id: user_id.to_owned(),
            agent_id: agent_id.to_owned(),
            token: admin.create_token(user_id).await.unwrap(),
            ssid: admin.create_session(user_id, agent_id).await.unwrap(),
        }
    }

    /// POSTs a raw body (no Content-Type) to an upstream route; returns the HTTP status and body.
    pub async fn post_raw(&self, route: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let res = self
            .client
            .post(format!("{}{PREFIX}/{route}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.text().await.unwrap())
    }

    /// POSTs a JSON value as the body and parses the answer, which must be HTTP 200 JSON.
    pub async fn call(&self, route: &str, body: Value) -> Value {
        let (status, text) = self.post_raw(route, body.to_string()).await;
        assert_eq!(status, 200, "{route} {body} answered HTTP {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
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

/// Declares tests that each run on both databases: `async fn name(app: TestApp)` bodies
/// become `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::common::TestApp::spawn($crate::common::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::common::TestApp::spawn($crate::common::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}
