//! A PostgreSQL outage, on a private cluster this test starts itself (`initdb` and `pg_ctl`
//! of the installed server, a temporary folder, a free port), never the shared one the other
//! tests use: stopped under a load of reads and changes, every answer is a success or the
//! 1010 envelope with HTTP 503; once the server knows, answers come at once and `/readyz`
//! says so; started again, the server answers successes within 2 s, with no restart.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::Operator;
use serde_json::json;

use crate::support::*;

/// A PostgreSQL cluster of the test's own; stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    /// Initialises and starts one, or None (no PostgreSQL server installed outside CI:
    /// skipped loudly).
    fn start() -> Option<Cluster> {
        let Some(bin) = server_bin() else {
            skip(
                "no PostgreSQL server (initdb, pg_ctl) is installed under /usr/lib/postgresql \
                 or PG_BINDIR",
                "Install PostgreSQL's server or set PG_BINDIR",
            );
            return None;
        };
        let cluster = Cluster {
            bin,
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        };
        // The server refuses to run as root: then it runs as `postgres`, in a folder it owns.
        if as_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(cluster.dir.path()));
        }
        run(cluster
            .tool("initdb")
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(cluster.data()));
        cluster.pg_ctl("start");
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `start` (waiting until it accepts connections) or `stop` (fast: sessions are ended).
    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let mut cmd = self.tool("pg_ctl");
        cmd.arg("-D").arg(self.data()).args(["-w", "-m", "fast"]);
        if action == "start" {
            cmd.arg("-o")
                .arg(options)
                .arg("-l")
                .arg(self.dir.path().join("log"));
        }
        run(cmd.arg(action));
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-m", "immediate", "stop"])
            .output();
    }
}

/// The folder of `initdb` and `pg_ctl`: PG_BINDIR, or the newest /usr/lib/postgresql/*/bin.
fn server_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return Some(dir.into());
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One answer of the load: when it was asked (since the load began), how long it took,
/// the HTTP status and the body.
struct Answer {
    asked: Duration,
    took: Duration,
    status: u16,
    body: String,
    /// A change tried again after a refusal found done already (the refused try committed,
    /// and only its answer was lost with the connection).
    done_before: bool,
}

impl Answer {
    fn success(&self) -> bool {
        self.done_before
            || (self.status == 200 || self.status == 201)
                && self.body.starts_with(r#"{"status":"success","data":"#)
    }

    fn refused(&self) -> bool {
        self.status == 503 && self.body == DB_CONNECT.as_str()
    }
}

/// The answers asked `when` (`in the outage`, `after recovery`, which `asked_then` tells): at
/// least 50 of them, and every one `fine`.
fn all_of<'a>(
    answers: &'a [Answer],
    asked_then: impl Fn(&Answer) -> bool,
    fine: fn(&Answer) -> bool,
    report: &str,
    when: &str,
) -> Vec<&'a Answer> {
    let then: Vec<&Answer> = answers.iter().filter(|a| asked_then(a)).collect();
    assert!(then.len() >= 50, "{report}: too few answers {when}");
    for a in &then {
        assert!(fine(a), "{report}: {} {} {when}", a.status, a.body);
    }
    then
}

/// How long after `since` `/readyz` first answers `status` (polled every 20 ms, up to 10 s).
async fn until_ready_is(app: &TestApp, status: u16, since: Instant) -> Duration {
    loop {
        let (got, body) = app.get("/readyz").await;
        if got == status {
            if status == 503 {
                assert_eq!(body, DB_CONNECT.as_str());
            }
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "/readyz never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopped_and_started_under_load() {
        let Some(cluster) = Cluster::start() else {
            return;
        };
        let admin_url = cluster.admin_url();
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
            .await
            .unwrap();
        sqlx::query("CREATE DATABASE outage")
            .execute(&mut conn)
            .await
            .unwrap();
        drop(conn);
        let db = TestDb::Postgres {
            admin_url,
            name: "outage".into(),
        };
        let agents: Vec<String> = (0..6).map(|i| format!("a{i}")).collect();
        let service = acme_on(&db, &agents).await;
        let token = Operator { service: &service }
            .create_token("acme")
            .await
            .unwrap();
        let config = test_config(&db);
        assert_eq!(config.db_acquire_timeout_secs, 5, "the default pool wait");
        let app = Arc::new(TestApp::start(db, config).await);

        // One client per agent: a read, a break started, a read, the break ended, and again.
        let began = Instant::now();
        let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut load = tokio::task::JoinSet::new();
        for id in agents.clone() {
            let (app, answers, stop, token) =
                (app.clone(), answers.clone(), stop.clone(), token.clone());
            load.spawn(async move {
                let agent_url = format!("{}/v1/agents/{id}", app.base);
                let break_url = format!("{agent_url}/break");
                let mut step = 0usize;
                let mut retrying = false;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let req = match step % 4 {
                        1 => app
                            .client
                            .post(&break_url)
                            .body(json!({"reason": "lunch"}).to_string()),
                        3 => app.client.delete(&break_url),
                        _ => app.client.get(&agent_url),
                    };
                    let asked = began.elapsed();
                    let res = req.bearer_auth(&token).send().await.unwrap();
                    let status = res.status().as_u16();
                    let body = res.text().await.unwrap();
                    let done_before = retrying
                        && status == 409
                        && (body.contains(r#""code":1507}"#) || body.contains(r#""code":1502}"#));
                    let answer = Answer {
                        asked,
                        took: began.elapsed() - asked,
                        status,
                        body,
                        done_before,
                    };
                    // A change that was refused is tried again, so the steps stay in turn.
                    retrying = step % 2 == 1 && answer.refused();
                    if !retrying {
                        step += 1;
                    }
                    answers.lock().unwrap().push(answer);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
        }

        tokio::time::sleep(Duration::from_millis(1500)).await;
        let stopping = Instant::now();
        cluster.pg_ctl("stop");
        let stopped = began.elapsed();
        let known = stopped + until_ready_is(&app, 503, stopping).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let starting = began.elapsed();
        cluster.pg_ctl("start");
        let back = began.elapsed();
        let ready_again = back + until_ready_is(&app, 200, Instant::now()).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(done) = load.join_next().await {
            done.unwrap();
        }

        let answers = std::mem::take(&mut *answers.lock().unwrap());
        let report = format!(
            "stopped {stopped:?}, known {known:?}, start {starting:?}, back {back:?}, \
             ready again {ready_again:?}, {} answers",
            answers.len()
        );
        for a in &answers {
            assert!(
                a.success() || a.refused(),
                "{report}: asked at {:?}: {} {}",
                a.asked,
                a.status,
                a.body
            );
        }
        let before: Vec<_> = answers.iter().filter(|a| a.asked < stopped).collect();
        assert!(
            before.iter().filter(|a| a.success()).count() >= 50,
            "{report}: too few successes before the outage"
        );
        assert!(
            known - stopped < Duration::from_secs(1),
            "{report}: the outage was known late"
        );
        // Known down: every answer is the refusal, at once.
        let in_outage = |a: &Answer| a.asked >= known && a.asked + a.took < starting;
        let during = all_of(
            &answers,
            in_outage,
            Answer::refused,
            &report,
            "in the outage",
        );
        for a in &during {
            assert!(
                a.took < Duration::from_secs(1),
                "{report}: a refusal took {:?}",
                a.took
            );
        }
        // Back within 2 s of the database, and only successes after that.
        assert!(
            ready_again - back < Duration::from_secs(2),
            "{report}: /readyz came back late"
        );
        let first_success = answers
            .iter()
            .filter(|a| a.asked >= back && a.success())
            .map(|a| a.asked + a.took)
            .min()
            .expect("a success after the database came back");
        assert!(
            first_success - back < Duration::from_secs(2),
            "{report}: the first success came {:?} after the database",
            first_success - back
        );
        let recovered = |a: &Answer| a.asked >= back + Duration::from_secs(2);
        all_of(
            &answers,
            recovered,
            Answer::success,
            &report,
            "after recovery",
        );
        let slowest = during.iter().map(|a| a.took).max().unwrap_or_default();
        eprintln!(
            "{report}: slowest refusal {slowest:?}, first success {:?} after the database",
            first_success - back
        );
        drop(app);
        drop(cluster);
    }
}
