//! The server binary as it is deployed: a process on a test's database, configured by its
//! environment only.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::{Http, TestDb};

/// A free port on 127.0.0.1 (free when asked; a server started on it right after gets it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `agentprofile` binary cargo built for the running test. `CARGO_BIN_EXE_agentprofile` is
/// only compiled into the package's own tests, not into this crate: without it at run time, the
/// binary is the one next to the test's `deps/` directory, where cargo puts it.
pub fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_agentprofile") {
        return bin.into();
    }
    let test = std::env::current_exe().expect("the test binary's path");
    let bin = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary is in target/<profile>/deps")
        .join(format!("agentprofile{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "no server binary at {}", bin.display());
    bin
}

/// The server binary, a process on `db`, configured by its environment only (no `.env`), on
/// its own port; its HTTP helpers are `Http`'s.
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub http: Http,
    _dir: tempfile::TempDir,
}

impl Deref for ServerProcess {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
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
        let mut cmd = tokio::process::Command::new(server_binary());
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
            http: Http::new(format!("http://127.0.0.1:{port}")),
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
        let started = Instant::now();
        while !self.metrics().await.contains("agentprofile_live_view_up 1") {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no live server"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
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
