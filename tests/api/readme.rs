//! The README as a newcomer reads it: every `sh` block, top to bottom, in one shell, against a
//! fresh server, with the variables the README defines. A block runs as written, but for:
//! - `127.0.0.1:8080`, which becomes the test server's address;
//! - `cargo run [-q] -- ARGS`, which runs the binary under test with ARGS (what cargo would run);
//! - `npm install -g newman`, skipped when newman is installed (`.ci/run` installs it);
//! - every `curl`, bounded in time, its HTTP status noted.
//!
//! The first block (`cargo run`, `cargo test`) is the server this test starts and the suite it
//! is part of. A block after `<!-- readme-test: skip (why) -->` does not run; one after
//! `<!-- readme-test: bounded (why) -->` runs for 2 s (an event stream). The test fails when a
//! command fails, an answer is an HTTP 5xx, or an answer is an error envelope whose code the
//! README does not name between that block and the next (it shows what the reader should see).

use std::process::Stdio;
use std::time::Duration;

use crate::support::{Backend, ServerProcess, TestDb, in_ci, server_binary, skip};

/// One `sh` block: its text, what the README says after it (up to the next block), and how
/// it runs.
struct Block {
    line: usize,
    code: String,
    after: String,
    mode: Mode,
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Run,
    Bounded,
    Skip,
}

fn blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks: Vec<Block> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start() != "```sh" {
            if let Some(last) = blocks.last_mut() {
                last.after.push_str(lines[i]);
                last.after.push('\n');
            }
            i += 1;
            continue;
        }
        let marker = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
        let mode = match marker {
            _ if blocks.is_empty() => Mode::Skip,
            Some(m) if m.starts_with("<!-- readme-test: skip") => Mode::Skip,
            Some(m) if m.starts_with("<!-- readme-test: bounded") => Mode::Bounded,
            _ => Mode::Run,
        };
        let start = i + 1;
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.trim() == "```")
                .unwrap();
        let code = lines[start..end].join("\n");
        blocks.push(Block {
            line: start,
            after: code.clone(),
            code,
            mode,
        });
        i = end + 1;
    }
    blocks
}

/// The shell the blocks run in: the shims, then each block between markers on stdout.
fn script(blocks: &[Block], base: &str) -> String {
    let mut script = String::from(
        r#"set -euo pipefail
cargo() {
    [ "$1" = run ] || { echo "the README test runs only 'cargo run'" >&2; return 1; }
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done
    shift
    "$AGENTPROFILE" "$@"
}
npm() {
    if [ "$*" = "install -g newman" ] && command -v newman >/dev/null; then
        echo "(newman is installed)"
    else
        command npm "$@"
    fi
}
curl() { command curl --max-time "$MAX_TIME" -w '%{stderr}HTTP %{http_code}\n' "$@"; }
MAX_TIME=10
"#,
    );
    for (n, b) in blocks.iter().enumerate() {
        let code = b.code.replace("http://127.0.0.1:8080", base);
        script.push_str(&format!("echo '@@block {n}'\n"));
        match b.mode {
            Mode::Skip => continue,
            Mode::Run => script.push_str(&code),
            // The stream ends by the time limit: curl's 28 is its success here.
            Mode::Bounded => {
                script.push_str(&format!("( MAX_TIME=2\n{code}\n) || [ \"$?\" -eq 28 ]"))
            }
        }
        script.push('\n');
    }
    script.push_str("echo '@@end'\n");
    script
}

/// The error codes in `output`'s envelopes.
fn error_codes(output: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for part in output.split(r#""status":"error""#).skip(1) {
        if let Some(at) = part.find(r#""code":"#) {
            let digits: String = part[at + 7..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            codes.push(digits);
        }
    }
    codes
}

#[tokio::test]
async fn every_sh_block_of_the_readme_runs_in_order() {
    let newman = std::process::Command::new("newman")
        .arg("--version")
        .output()
        .is_ok();
    if !newman && !in_ci() {
        skip(
            "newman (the README's Postman command)",
            "npm install -g newman",
        );
        return;
    }
    assert!(newman, "CI=true and no newman: .ci/run installs it");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = blocks(&readme);
    assert!(blocks.iter().filter(|b| b.mode == Mode::Run).count() >= 10);

    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let server = ServerProcess::start(&db, &[]).await;
    let home = tempfile::tempdir().unwrap();
    let mut shell = tokio::process::Command::new("bash");
    shell
        .arg("-c")
        .arg(script(&blocks, &server.base))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AGENTPROFILE", server_binary())
        .env("DATABASE_URL", db.url())
        .env("DEMO_SEED", "false")
        .env("LOG_LEVEL", "warn")
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), shell.output())
        .await
        .expect("the README's commands ran over 180 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if std::env::var_os("README_TEST_SHOW").is_some() {
        eprintln!("{stdout}\n{stderr}");
    }
    let ran: Vec<&str> = stdout.split("@@block ").collect();
    let last = ran.last().and_then(|r| r.lines().next()).unwrap_or("?");
    assert!(
        out.status.success() && stdout.ends_with("@@end\n"),
        "the README's commands stopped in block {last} (line {}):\n{stdout}\n{stderr}",
        last.parse::<usize>().map_or(0, |n| blocks[n].line),
    );
    assert!(!stderr.contains("HTTP 5"), "an HTTP 5xx answer:\n{stderr}");
    for (n, block) in blocks.iter().enumerate() {
        let output = ran[n + 1].split_once('\n').map_or("", |(_, rest)| rest);
        for code in error_codes(output) {
            assert!(
                block.after.contains(&code),
                "the block at README line {} answered error {code}, which the README does not show \
                 there:\n{output}",
                block.line
            );
        }
    }
}
