//! The operator CLI, run as the real binary against the test's database, whose server then
//! proves that what the CLI printed and wrote really works; and `serve` with its demo.

use std::process::{Output, Stdio};
use std::time::Duration;

use crate::support::{Backend, TestApp, TestDb, code, get};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

on_both_databases! {
    migrate_prepares_a_fresh_database, accounts_agents_tokens_and_sessions, breaks_and_wrap_ups,
    suspend_and_resume, unknown_accounts_and_agents_are_refused, calls_start_and_end,
}

const BIN: &str = env!("CARGO_BIN_EXE_agentprofile");

/// The binary with a clean environment: only this database, no demo, default (info) logs
/// on stderr. It runs
/// in an empty directory so that no `.env` file can leak settings in.
fn agentprofile(database_url: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("DATABASE_URL", database_url)
        .env("DEMO_SEED", "false")
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// What a command printed, and how it exited.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// Asserts success; returns stdout.
    pub(crate) fn ok(self) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self.stdout
    }

    /// Asserts the refusal: exit code 1, nothing on stdout, `message` on stderr.
    pub(crate) fn refused(self, message: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert_eq!(self.stdout, "");
        assert!(
            self.stderr.contains(message),
            "{message:?} not in stderr: {}",
            self.stderr
        );
    }

    /// The one line stdout holds (the secret a command prints).
    pub(crate) fn line(self) -> String {
        let stdout = self.ok();
        let secret = stdout.strip_suffix('\n').expect("ends with a newline");
        assert!(
            !secret.is_empty() && !secret.contains(char::is_whitespace),
            "one word on one line: {stdout:?}"
        );
        secret.to_owned()
    }
}

async fn run_on(database_url: &str, args: &[&str]) -> Run {
    run_with(database_url, &[], args).await
}

/// … with these environment variables too.
pub(crate) async fn run_with(database_url: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut command = agentprofile(database_url, dir.path());
    command.envs(env.iter().copied()).args(args);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("agentprofile {args:?} ran over 60 s"))
        .unwrap();
    Run::from(output)
}

/// Runs the CLI on the database the test's server uses.
pub(crate) async fn cli(app: &TestApp, args: &[&str]) -> Run {
    let run = run_on(&app.db.as_ref().unwrap().url(), args).await;
    // The CLI is another process: the server sees its changes within 0.1 s (its change
    // feed), not at once.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    run
}

/// Account "acme" with agent "7" (45 s wrap-up), made with the CLI: its token and ssid.
pub(crate) async fn acme_with_agent(app: &TestApp) -> (String, String) {
    cli(app, &["account", "create", "acme", "--name", "Acme Ltd"])
        .await
        .ok();
    cli(
        app,
        &["agent", "create", "acme", "7", "--wrap-seconds", "45"],
    )
    .await
    .ok();
    let token = cli(app, &["token", "create", "acme"]).await.line();
    let ssid = cli(app, &["session", "create", "acme", "7"]).await.line();
    (token, ssid)
}

async fn migrate_prepares_a_fresh_database(app: TestApp) {
    let backend = if app.config.is_postgres() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let fresh = TestDb::new(backend)
        .await
        .expect("the backend answered for the app");
    let kind = if app.config.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    for _ in 0..2 {
        let stdout = run_on(&fresh.url(), &["migrate"]).await.ok();
        assert_eq!(stdout, format!("database is up to date ({kind})\n"));
    }
    let stdout = run_on(&fresh.url(), &["account", "create", "acme"])
        .await
        .ok();
    assert_eq!(stdout, "created account \"acme\"\n");
}

async fn accounts_agents_tokens_and_sessions(app: TestApp) {
    let stdout = cli(&app, &["account", "create", "acme", "--name", "Acme Ltd"])
        .await
        .ok();
    assert_eq!(stdout, "created account \"acme\"\n");
    cli(&app, &["account", "create", "acme"])
        .await
        .refused("account \"acme\" already exists");

    let stdout = cli(
        &app,
        &["agent", "create", "acme", "7", "--wrap-seconds", "45"],
    )
    .await
    .ok();
    assert_eq!(
        stdout,
        "created agent \"7\" in account \"acme\" (wrap-up 45 s)\n"
    );
    cli(&app, &["agent", "create", "acme", "7"])
        .await
        .refused("agent \"7\" already exists in account \"acme\"");

    let token = cli(&app, &["token", "create", "acme"]).await.line();
    assert!(token.starts_with("apt_"), "{token}");
    let ssid = cli(&app, &["session", "create", "acme", "7"]).await.line();
    assert_ne!(
        cli(&app, &["session", "create", "acme", "7"]).await.line(),
        ssid
    );

    // What the CLI printed authenticates on the server: the ssid, and the token.
    let by_ssid = json!({"ssid": ssid});
    let by_token = json!({"userId": "acme", "token": token, "agentId": "7"});
    for body in [&by_ssid, &by_token] {
        let c = app.call_code("agentOnBreak", body.clone()).await;
        assert_eq!(c, 1502, "{body}");
    }
    let wrong_token = json!({"userId": "acme", "token": format!("{token}x"), "agentId": "7"});
    assert_eq!(app.call_code("agentOnBreak", wrong_token).await, 1014);
}

async fn breaks_and_wrap_ups(app: TestApp) {
    let (token, ssid) = acme_with_agent(&app).await;
    let by_ssid = json!({"ssid": ssid});
    let by_token = json!({"userId": "acme", "token": token, "agentId": 7});

    let stdout = cli(&app, &["break", "start", "acme", "7", "--reason", "Lunch"])
        .await
        .ok();
    assert_eq!(stdout, "agent \"7\" is on break (Lunch)\n");
    for body in [&by_ssid, &by_token] {
        let data = app.call_ok("agentOnBreak", body.clone()).await;
        assert_eq!(data["on_break"], 1);
        assert_eq!(data["breakDetail"]["reason"], "Lunch");
    }
    cli(&app, &["break", "start", "acme", "7", "--reason", "break"])
        .await
        .refused("agent \"7\" is already on break");
    let stdout = cli(&app, &["break", "end", "acme", "7"]).await.ok();
    assert!(
        stdout.starts_with("agent \"7\" is back from break (Lunch, "),
        "{stdout}"
    );
    assert_eq!(app.call_code("agentOnBreak", by_ssid.clone()).await, 1502);
    cli(&app, &["break", "end", "acme", "7"])
        .await
        .refused("agent \"7\" is not on break");

    let args = [
        "wrap",
        "start",
        "acme",
        "7",
        "--call-id",
        "C-1",
        "--number",
        "+15550100",
        "--seconds",
        "60",
    ];
    let stdout = cli(&app, &args).await.ok();
    assert!(
        stdout.starts_with("agent \"7\" is in wrap-up for call \"C-1\" (ends at "),
        "{stdout}"
    );
    let wrap = app.call_ok("wrapUp", by_ssid.clone()).await;
    assert_eq!(
        (wrap["callId"].as_str(), wrap["cNumber"].as_str()),
        (Some("C-1"), Some("+15550100"))
    );
    assert!(
        (58..=60).contains(&wrap["currentDuration"].as_i64().unwrap()),
        "{wrap}"
    );
    cli(&app, &args)
        .await
        .refused("agent \"7\" is already in wrap-up");
    assert_eq!(
        cli(&app, &["wrap", "end", "acme", "7"]).await.ok(),
        "agent \"7\" ended wrap-up\n"
    );
    assert_eq!(app.call_code("wrapUp", by_token.clone()).await, 1504);
    cli(&app, &["wrap", "end", "acme", "7"])
        .await
        .refused("agent \"7\" is not in wrap-up");

    // Without --seconds the agent's own wrap-up length (--wrap-seconds 45) applies.
    cli(
        &app,
        &[
            "wrap",
            "start",
            "acme",
            "7",
            "--call-id",
            "C-2",
            "--number",
            "+15550101",
        ],
    )
    .await
    .ok();
    let wrap = app.call_ok("wrapUp", by_token.clone()).await;
    assert_eq!(wrap["callId"], "C-2");
    assert!(
        (43..=45).contains(&wrap["currentDuration"].as_i64().unwrap()),
        "{wrap}"
    );
}

async fn calls_start_and_end(app: TestApp) {
    let (token, ssid) = acme_with_agent(&app).await;
    let start = [
        "call",
        "start",
        "acme",
        "7",
        "--call-id",
        "C-7",
        "--number",
        "+15550107",
    ];
    let stdout = cli(&app, &start).await.ok();
    assert_eq!(stdout, "agent \"7\" is on call \"C-7\"\n");
    let entry = app.roster_entry(&token, "7").await;
    assert_eq!(entry["state"], "on_call", "{entry}");
    assert_eq!(entry["call"]["direction"], "inbound");
    cli(&app, &start)
        .await
        .refused("agent \"7\" is already on a call");
    let stdout = cli(&app, &["call", "end", "acme", "7"]).await.ok();
    assert!(
        stdout.starts_with("agent \"7\" ended call \"C-7\" (completed, ")
            && stdout.ends_with(": in wrap-up (timed)\n"),
        "{stdout}"
    );
    let wrap = app.call_ok("wrapUp", json!({"ssid": ssid})).await;
    assert_eq!(wrap["callId"], "C-7");
    cli(&app, &["call", "end", "acme", "7", "--missed"])
        .await
        .refused("agent \"7\" is not on a call");
    // Outbound, forced over a break, then missed: no wrap-up.
    cli(&app, &["wrap", "end", "acme", "7"]).await.ok();
    cli(&app, &["break", "start", "acme", "7", "--reason", "lunch"])
        .await
        .ok();
    let outbound = [
        "call",
        "start",
        "acme",
        "7",
        "--call-id",
        "C-8",
        "--number",
        "+1",
        "--direction",
        "outbound",
        "--force",
    ];
    cli(&app, &outbound).await.ok();
    let stdout = cli(&app, &["call", "end", "acme", "7", "--missed"])
        .await
        .ok();
    assert!(stdout.contains("(missed, "), "{stdout}");
    assert!(stdout.ends_with(": available\n"), "{stdout}");
}

async fn suspend_and_resume(app: TestApp) {
    let (token, ssid) = acme_with_agent(&app).await;
    let by_ssid = json!({"ssid": ssid});
    let by_token = json!({"userId": "acme", "token": token, "agentId": "7"});

    // Suspended: 1039 by ssid and by token; resumed: back to normal (1502, not on break).
    for (command, done, want) in [("suspend", "suspended", 1039), ("resume", "resumed", 1502)] {
        let stdout = cli(&app, &["account", command, "acme"]).await.ok();
        assert_eq!(stdout, format!("{done} account \"acme\"\n"));
        for body in [&by_ssid, &by_token] {
            let got = app.call_code("agentOnBreak", body.clone()).await;
            assert_eq!(got, want, "{body}");
        }
    }
}

async fn unknown_accounts_and_agents_are_refused(app: TestApp) {
    acme_with_agent(&app).await;
    let no_account = "no account \"nobody\"";
    let no_agent = "no agent \"99\" in account \"acme\"";
    let cases: [(&[&str], &str); 12] = [
        (&["account", "suspend", "nobody"], no_account),
        (&["account", "resume", "nobody"], no_account),
        (&["token", "create", "nobody"], no_account),
        (&["agent", "create", "nobody", "7"], no_account),
        (&["session", "create", "nobody", "7"], no_account),
        (&["session", "create", "acme", "99"], no_agent),
        (
            &["break", "start", "acme", "99", "--reason", "Lunch"],
            no_agent,
        ),
        (&["break", "end", "nobody", "7"], no_account),
        (
            &[
                "wrap",
                "start",
                "acme",
                "99",
                "--call-id",
                "C",
                "--number",
                "N",
            ],
            no_agent,
        ),
        (&["wrap", "end", "acme", "99"], no_agent),
        (&["account", "create", "  "], "USER_ID must not be empty"),
        (
            &["break", "start", "acme", "7", "--reason", " "],
            "reason must not be empty",
        ),
    ];
    for (args, message) in cases {
        cli(&app, args).await.refused(message);
    }
    // A refused command changed nothing: the agent is still not on break.
    assert_eq!(
        cli(&app, &["break", "end", "acme", "7"]).await.code,
        Some(1)
    );
}

// ---------------------------------------------------------------------------------------
// serve
// ---------------------------------------------------------------------------------------

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The URL and the `--data-raw` body of a printed curl line.
fn parse_curl(line: &str) -> (String, String) {
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let (_, data) = line
        .split_once("--data-raw '")
        .unwrap_or_else(|| panic!("no --data-raw in {line:?}"));
    (url.to_owned(), data.strip_suffix('\'').unwrap().to_owned())
}

/// Sends a printed curl line as curl sends it (`--data-raw` means a form Content-Type).
async fn send_curl(line: &str) -> Value {
    let (url, body) = parse_curl(line);
    let res = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Reads the child's stdout until the demo's two curl lines have been printed.
async fn demo_curl_lines(stdout: tokio::process::ChildStdout) -> Vec<String> {
    let mut lines = BufReader::new(stdout).lines();
    let mut curls = Vec::new();
    while curls.len() < 2 {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the demo is printed");
        if line.trim_start().starts_with("curl ") {
            curls.push(line.trim().to_owned());
        }
    }
    curls
}

/// `serve` on this SQLite file and a free port, its stdout piped.
fn spawn_serve(dir: &std::path::Path) -> (tokio::process::Child, u16) {
    let database_url = format!("sqlite://{}", dir.join("demo.db").display());
    let port = free_port();
    let child = agentprofile(&database_url, dir)
        .env("DEMO_SEED", "true")
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, port)
}

/// SIGTERM, then a clean exit within 5 s and the port closed.
async fn terminate(mut child: tokio::process::Child, port: u16) {
    let pid = child.id().expect("still running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("SIGTERM stops the server within 5 s")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_a_working_demo_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = spawn_serve(dir.path());
    let stdout = child.stdout.take().unwrap();
    let curls = tokio::time::timeout(Duration::from_secs(30), demo_curl_lines(stdout))
        .await
        .expect("the demo is printed within 30 s");
    let on_break = curls
        .iter()
        .find(|l| l.contains("/agentOnBreak"))
        .expect("an agentOnBreak line");
    let ping = curls
        .iter()
        .find(|l| l.contains("/setWebPingTime"))
        .expect("a setWebPingTime line");
    assert!(
        on_break.contains(&format!("http://127.0.0.1:{port}/api/v2/agentProfile/")),
        "{on_break}"
    );

    let answer = send_curl(on_break).await;
    assert_eq!(code(&answer), 0, "{answer}");
    assert_eq!(answer["data"]["on_break"], 1);
    assert_eq!(answer["data"]["breakDetail"]["reason"], "Break");
    assert_eq!(
        (
            answer["data"]["user_id"].as_str(),
            answer["data"]["agent_id"].as_str()
        ),
        (Some("demo"), Some("demo-agent"))
    );
    let answer = send_curl(ping).await;
    assert_eq!(code(&answer), 0, "{answer}");
    assert_eq!(answer["data"]["mic_perm"], 1);
    terminate(child, port).await;

    // Started again on the same file: no second demo, and the first one's ssid still works.
    let (mut child, new_port) = spawn_serve(dir.path());
    let on_break = on_break.replace(&format!(":{port}/"), &format!(":{new_port}/"));
    let answer = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match reqwest::get(format!("http://127.0.0.1:{new_port}/readyz")).await {
                Ok(res) if res.status() == 200 => return send_curl(&on_break).await,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("the server is ready within 30 s");
    assert_eq!(answer["data"]["on_break"], 1, "{answer}");
    let mut stdout = child.stdout.take().unwrap();
    terminate(child, new_port).await;
    let mut printed = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut printed)
        .await
        .unwrap();
    assert_eq!(printed, "", "a database with accounts gets no demo");
}

/// With LOG_FORMAT=json, every line of a request's log carries its request id (the
/// client's X-Request-Id, also returned in the answer), and no line holds the ssid or token.
#[tokio::test]
async fn json_logs_carry_the_request_id_and_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("logs.db").display());
    let run = |args: &[&str]| {
        let mut cmd = agentprofile(&database_url, dir.path());
        cmd.args(args);
        cmd
    };
    for args in [
        &["account", "create", "acme"][..],
        &["agent", "create", "acme", "7"],
    ] {
        assert!(run(args).status().await.unwrap().success());
    }
    let token = String::from_utf8(
        run(&["token", "create", "acme"])
            .output()
            .await
            .unwrap()
            .stdout,
    )
    .unwrap();
    let ssid = String::from_utf8(
        run(&["session", "create", "acme", "7"])
            .output()
            .await
            .unwrap()
            .stdout,
    )
    .unwrap();
    let (token, ssid) = (token.trim().to_owned(), ssid.trim().to_owned());

    let port = free_port();
    let mut child = run(&["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api/v2/agentProfile");
    let mut answered = None;
    for _ in 0..50 {
        // The ssid also in the query string: the URI must not be logged.
        let sent = client
            .post(format!("{base}/agentOnBreak?ssid={ssid}"))
            .header("X-Request-Id", "req-42")
            .body(format!(
                r#"{{"userId":"acme","token":"{token}","agentId":"7"}}"#
            ))
            .send()
            .await;
        if let Ok(res) = sent {
            answered = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let res = answered.expect("the server starts");
    assert_eq!(res.headers()["x-request-id"], "req-42");
    let generated = get(format!("http://127.0.0.1:{port}/healthz")).await;
    let generated_id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated_id.len(), 36, "a UUID: {generated_id}");
    terminate(child, port).await;

    let mut lines = BufReader::new(stderr).lines();
    let mut request_lines = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        assert!(
            !line.contains(&ssid) && !line.contains(&token),
            "a secret in the log: {line}"
        );
        let entry: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if entry["span"]["route"] == "/api/v2/agentProfile/agentOnBreak" {
            request_lines.push(entry);
        }
    }
    assert!(!request_lines.is_empty(), "the request was logged");
    for entry in &request_lines {
        assert_eq!(entry["span"]["request_id"], "req-42", "{entry}");
    }
    let answered = request_lines
        .iter()
        .find(|e| e["fields"]["message"] == "answered")
        .unwrap();
    // ssid (query) with userId + token (body): 1000, logged with its envelope code.
    assert_eq!(answered["fields"]["code"], 1000);
}
