//! Faults, on the real binary: a server killed with SIGKILL under a write load loses no
//! acknowledged change; an SQLite file that stops taking writes (disk full, file made
//! read-only) answers 1010 (HTTP 503), keeps answering reads, loses nothing acknowledged,
//! stays intact, and takes writes again once it can.

use std::time::{Duration, Instant};

use crate::support::Operator;
use serde_json::{Value, json};

use crate::support::*;

/// A fresh `backend` database (None where it is skipped) with the account `acme`, these
/// agents and an API token.
async fn acme(backend: Backend, agents: &[String]) -> Option<(TestDb, String)> {
    let db = TestDb::new(backend).await?;
    let service = acme_on(&db, agents).await;
    let token = Operator { service: &service }
        .create_token("acme")
        .await
        .unwrap();
    Some((db, token))
}

/// One break change, as a client makes it: through `/v1` or the upstream extension routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    V1,
    Upstream,
}

/// What the server answered to a change: the HTTP status and the body; Err when no answer
/// came (the connection failed: nothing was acknowledged).
async fn change(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    surface: Surface,
    agent_id: &str,
    start: bool,
) -> Result<(u16, String), reqwest::Error> {
    let req = match (surface, start) {
        (Surface::V1, true) => client
            .post(format!("{base}/v1/agents/{agent_id}/break"))
            .bearer_auth(token)
            .body(json!({"reason": "lunch"}).to_string()),
        (Surface::V1, false) => client
            .delete(format!("{base}/v1/agents/{agent_id}/break"))
            .bearer_auth(token),
        (Surface::Upstream, _) => {
            let route = if start { "startBreak" } else { "endBreak" };
            let body = json!({"userId": "acme", "token": token, "agentId": agent_id,
                              "reason": "lunch"});
            client
                .post(format!("{base}{PREFIX}/{route}"))
                .body(body.to_string())
        }
    };
    let res = req.send().await?;
    let status = res.status().as_u16();
    Ok((status, res.text().await?))
}

/// Whether this answer is the success of that change.
fn acknowledged(surface: Surface, start: bool, (status, body): &(u16, String)) -> bool {
    let want = match (surface, start) {
        (Surface::V1, true) => 201,
        _ => 200,
    };
    *status == want && body.starts_with(r#"{"status":"success","data":"#)
}

/// The `break.*` kinds of the agent's whole history, oldest first, as the server answers it.
async fn break_history(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Vec<bool> {
    let mut starts = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}/v1/agents/{id}/events?limit=500{cursor}");
        let res = client.get(url).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let page: Value = res.json().await.unwrap();
        for event in page["data"]["items"].as_array().unwrap() {
            match event["kind"].as_str().unwrap() {
                "break.start" => starts.push(true),
                "break.end" => starts.push(false),
                _ => {}
            }
        }
        match page["data"]["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return starts,
        }
    }
}

/// start, end, start, … : `n` changes of one agent, in order.
fn alternating(n: usize) -> Vec<bool> {
    (0..n).map(|i| i % 2 == 0).collect()
}

/// SIGKILL in the middle of concurrent acknowledged state changes: after a restart every
/// acknowledged change is in the history, in order, and at most one more per client (the
/// one in flight at the kill, committed but never answered).
async fn a_killed_server_loses_no_acknowledged_change(backend: Backend) {
    const CLIENTS: usize = 6;
    let ids: Vec<String> = (1..=CLIENTS).map(|i| format!("a{i}")).collect();
    let Some((db, token)) = acme(backend, &ids).await else {
        return;
    };
    let server = ServerProcess::start(&db, &[]).await;

    // One client per agent (so each one's changes are ordered), half through each surface;
    // each counts its acknowledged changes until its connection fails at the kill.
    let clients: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let surface = if i % 2 == 0 {
                Surface::V1
            } else {
                Surface::Upstream
            };
            let (client, base, token, id) = (
                reqwest::Client::new(),
                server.base.clone(),
                token.clone(),
                id.clone(),
            );
            tokio::spawn(async move {
                let mut acked = 0usize;
                loop {
                    let start = acked % 2 == 0;
                    match change(&client, &base, &token, surface, &id, start).await {
                        Ok(answer) => {
                            assert!(
                                acknowledged(surface, start, &answer),
                                "{surface:?} {id} start={start}: {answer:?}"
                            );
                            acked += 1;
                        }
                        Err(_) => return acked,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    server.kill9().await;
    let mut acked = Vec::new();
    for client in clients {
        acked.push(client.await.unwrap());
    }
    let total: usize = acked.iter().sum();
    eprintln!("{backend:?}: {total} changes acknowledged before the kill ({acked:?})");
    assert!(total > 100, "only {total} changes acknowledged: no load");

    let server = ServerProcess::start(&db, &[]).await;
    for (id, &n) in ids.iter().zip(&acked) {
        let history = break_history(&server.client, &server.base, &token, id).await;
        assert!(
            history == alternating(n) || history == alternating(n + 1),
            "agent {id}: {n} acknowledged, history of {} changes: {history:?}",
            history.len()
        );
        // And the state agrees with the history's last change.
        let res = server
            .client
            .post(format!("{}{PREFIX}/agentOnBreak", server.base))
            .body(json!({"userId": "acme", "token": token, "agentId": id}).to_string())
            .send()
            .await
            .unwrap();
        let answer: Value = res.json().await.unwrap();
        let on_break = history.last() == Some(&true);
        assert_eq!(code(&answer), if on_break { 0 } else { 1502 }, "{id}");
    }
}

on_both_databases_with_own_config! {
    a_killed_server_loses_no_acknowledged_change,
}

// ------------------------------------------------------------ SQLite that stops taking writes

/// A fault that stops the server's writes to its SQLite file, and the undoing of it.
trait StorageFault {
    /// Applies it; false where this machine cannot (the test is then skipped loudly).
    fn apply(&mut self) -> bool;
    fn undo(&mut self);
}

/// A full disk: the server may not write at or past the database file's present size
/// (RLIMIT_FSIZE, lowered on the running process with prlimit(2); the server was started
/// with SIGXFSZ ignored, so writes fail with EFBIG instead of killing it). Neither the WAL
/// nor the database can grow: what a disk without free space does to SQLite.
struct DiskFull {
    pid: i32,
    limit: u64,
}

impl DiskFull {
    fn set(&self, soft: u64) {
        let limit = libc::rlimit {
            rlim_cur: soft,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: plain syscall on our own child; `limit` outlives it.
        let rc =
            unsafe { libc::prlimit(self.pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    }
}

impl StorageFault for DiskFull {
    fn apply(&mut self) -> bool {
        self.set(self.limit);
        true
    }
    fn undo(&mut self) {
        self.set(libc::RLIM_INFINITY);
    }
}

/// The database and its WAL made read-only under the running server: the immutable flag
/// (`chattr +i`), the one kind of read-only that also refuses writes through the file
/// descriptors the server already holds (a chmod or a read-only remount would not, and a
/// chmod does not stop root). Needs CAP_LINUX_IMMUTABLE.
struct ReadOnly {
    files: Vec<std::path::PathBuf>,
    applied: bool,
}

impl ReadOnly {
    fn chattr(&self, flag: &str) -> bool {
        std::process::Command::new("chattr")
            .arg(flag)
            .args(&self.files)
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl StorageFault for ReadOnly {
    fn apply(&mut self) -> bool {
        self.applied = self.chattr("+i");
        self.applied
    }
    fn undo(&mut self) {
        if self.applied {
            assert!(self.chattr("-i"), "chattr -i failed");
            self.applied = false;
        }
    }
}

impl Drop for ReadOnly {
    // Immutable files cannot be removed with the test's directory: undone even on a failure.
    fn drop(&mut self) {
        if self.applied {
            self.chattr("-i");
        }
    }
}

/// The server process of these tests, with SIGXFSZ ignored (inherited through exec), so
/// that a lowered file size limit makes writes fail instead of killing it.
async fn sqlite_server(db: &TestDb) -> ServerProcess {
    ServerProcess::start_with(db, free_port(), &[], |cmd| {
        // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
    })
    .await
}

fn sqlite_path(db: &TestDb) -> std::path::PathBuf {
    let TestDb::Sqlite(dir) = db else {
        unreachable!("an SQLite database")
    };
    dir.path().join("test.db")
}

/// The storage fault's test: writes before, during and after it; reads during it; the
/// history and the file's integrity at the end.
async fn writes_fail_cleanly_while(
    db: TestDb,
    token: String,
    fault: impl FnOnce(&ServerProcess) -> Box<dyn StorageFault>,
) {
    let server = sqlite_server(&db).await;
    let mut fault = fault(&server);
    let client = &server.client;
    let base = server.base.as_str();
    // Every answered change, in order: what the history must be at the end.
    let mut acked = 0usize;
    let attempt = |surface: Surface, start: bool| change(client, base, &token, surface, "7", start);

    for _ in 0..4 {
        let start = acked % 2 == 0;
        let answer = attempt(Surface::V1, start).await.unwrap();
        assert!(acknowledged(Surface::V1, start, &answer), "{answer:?}");
        acked += 1;
    }

    if !fault.apply() {
        let message = "cannot apply the storage fault here (chattr +i needs root / \
                       CAP_LINUX_IMMUTABLE and a file system with the immutable flag)";
        skip(
            message,
            "Run it as root on a file system with the immutable flag",
        );
        return;
    }
    // Writes: each one answered, either done or refused with 1010 and HTTP 503 on both
    // surfaces (nothing in between); keep on until a good number were refused.
    let (mut refused, started) = (0, Instant::now());
    let mut surface = Surface::V1;
    while refused < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the fault never took hold: {acked} changes acknowledged, {refused} refused"
        );
        let start = acked % 2 == 0;
        let answer = attempt(surface, start).await.unwrap();
        if acknowledged(surface, start, &answer) {
            acked += 1;
        } else {
            assert_eq!(
                answer,
                (503, DB_CONNECT.as_str().to_owned()),
                "{surface:?} start={start}"
            );
            refused += 1;
        }
        surface = match surface {
            Surface::V1 => Surface::Upstream,
            Surface::Upstream => Surface::V1,
        };
    }
    // Reads still answer: from the live view, and from the database.
    let on_break = json!({"userId": "acme", "token": token, "agentId": "7"});
    let res = client
        .post(format!("{base}{PREFIX}/agentOnBreak"))
        .body(on_break.to_string())
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        code(&answer),
        if acked % 2 == 1 { 0 } else { 1502 },
        "{answer}"
    );
    assert_eq!(
        break_history(client, base, &token, "7").await,
        alternating(acked)
    );
    let res = client
        .get(format!("{base}/v1/roster"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Writable again: the next changes are done.
    fault.undo();
    for _ in 0..4 {
        let start = acked % 2 == 0;
        let answer = attempt(Surface::Upstream, start).await.unwrap();
        assert!(
            acknowledged(Surface::Upstream, start, &answer),
            "{answer:?}"
        );
        acked += 1;
    }
    assert_eq!(
        break_history(client, base, &token, "7").await,
        alternating(acked)
    );
    drop(server);

    // Nothing acknowledged is missing, nothing refused is there, and the file is intact.
    let kinds = sql_text(
        &db,
        "SELECT CAST(group_concat(kind, ' ') AS TEXT) FROM (SELECT kind FROM events
         WHERE kind LIKE 'break.%' ORDER BY id)",
    )
    .await
    .unwrap_or_default();
    let want: Vec<&str> = alternating(acked)
        .into_iter()
        .map(|s| if s { "break.start" } else { "break.end" })
        .collect();
    assert_eq!(kinds, want.join(" "));
    let check = sql_text(&db, "PRAGMA integrity_check").await;
    assert_eq!(check.as_deref(), Some("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_full_disk_refuses_writes_with_1010_and_loses_nothing() {
    let (db, token) = acme(Backend::Sqlite, &["7".to_owned()]).await.unwrap();
    let limit = std::fs::metadata(sqlite_path(&db)).unwrap().len();
    writes_fail_cleanly_while(db, token, |server| {
        let pid = server.child.id().unwrap() as i32;
        Box::new(DiskFull { pid, limit })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_read_only_file_refuses_writes_with_1010_and_loses_nothing() {
    let (db, token) = acme(Backend::Sqlite, &["7".to_owned()]).await.unwrap();
    let path = sqlite_path(&db);
    let files = vec![path.clone(), path.with_extension("db-wal")];
    writes_fail_cleanly_while(db, token, |_| {
        Box::new(ReadOnly {
            files,
            applied: false,
        })
    })
    .await;
}
