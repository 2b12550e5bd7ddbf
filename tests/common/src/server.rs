//! The server in the test's own process (`TestApp`), on a fresh database, with its store and
//! service at hand.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{
    AppState, Backend, Config, Fixture, Http, Operator, Service, Store, TestDb, agent, connect,
    hash, serve,
};

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

/// A server in process; its HTTP helpers are `Http`'s (`app.base`, `app.v1(…)`, `app.call(…)`).
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: Http,
    pub store: Arc<dyn Store>,
    /// The server's own service: changes made through it are the server's.
    pub service: Service,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    // Last, so the database outlives the server.
    pub db: Option<TestDb>,
}

impl Deref for TestApp {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |_| {}).await
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
        let store = connect(&config).await.expect("connect test database");
        let listener = tokio::net::TcpListener::bind(config.bind_addr)
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(Service::new(store.clone(), Arc::new(config.clone())));
        let service = state.service.clone();
        let server = tokio::spawn(serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            http: Http::new(format!("http://{addr}")),
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

    /// A new account and an API token of it.
    pub async fn new_account(&self, user_id: &str) -> String {
        self.admin().create_account(user_id, "").await.unwrap();
        self.admin().create_token(user_id).await.unwrap()
    }

    /// The history's actor for this API token: `token:<pk>`.
    pub async fn token_actor(&self, token: &str) -> String {
        let (_, token) = self
            .store
            .token_account(&hash(token))
            .await
            .unwrap()
            .expect("token exists");
        format!("token:{}", token.id)
    }

    /// The database id of this session.
    pub async fn session_pk(&self, ssid: &str) -> i64 {
        let ctx = self.store.session(&hash(ssid)).await.unwrap();
        ctx.expect("session exists").session.id
    }

    /// The history's actor for this session: `session:<pk>`.
    pub async fn session_actor(&self, ssid: &str) -> String {
        format!("session:{}", self.session_pk(ssid).await)
    }
}
