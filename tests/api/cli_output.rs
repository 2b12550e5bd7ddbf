//! What the CLI shows: each command's help lists the server's options only on `serve`;
//! `history` newest first (or oldest first), with times in RFC 3339, local or UTC.

use std::process::Command;

use crate::cli::{acme_with_agent, cli, run_with};
use crate::support::TestApp;

on_both_databases! {
    history_lists_newest_first_with_rfc_3339_times,
}

const BIN: &str = env!("CARGO_BIN_EXE_agentprofile");

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_servers_options_are_listed_on_serve_only() {
    let server = [
        "--bind",
        "--keep-alive-timeout-secs",
        "--cors-allowed-origins",
        "--hsts",
    ];
    let shared = ["--database-url", "--log-level"];
    let serve = help(&["serve"]);
    for option in server.iter().chain(&shared) {
        assert!(
            serve.contains(option),
            "serve --help lacks {option}:\n{serve}"
        );
    }
    for command in [
        &[][..],
        &["account", "create"],
        &["history"],
        &["token", "list"],
    ] {
        let text = help(command);
        for option in server {
            assert!(
                !text.contains(option),
                "{command:?} --help lists {option}:\n{text}"
            );
        }
        for option in shared {
            assert!(
                text.contains(option),
                "{command:?} --help lacks {option}:\n{text}"
            );
        }
    }
    assert!(help(&[]).contains("agentprofile serve --help"));
}

/// The rows `history` printed: (id, time, kind).
fn rows(stdout: &str) -> Vec<(i64, String, String)> {
    stdout
        .lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            (
                cols[0].parse().unwrap(),
                cols[1].to_owned(),
                cols[3].to_owned(),
            )
        })
        .collect()
}

async fn history_lists_newest_first_with_rfc_3339_times(app: TestApp) {
    acme_with_agent(&app).await;
    for step in [["break", "start"], ["break", "end"]] {
        let mut args = vec![step[0], step[1], "acme", "7"];
        if step[1] == "start" {
            args.extend(["--reason", "lunch"]);
        }
        cli(&app, &args).await.ok();
    }
    let newest = rows(&cli(&app, &["history", "acme", "--utc"]).await.ok());
    let kinds: Vec<&str> = newest.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(kinds, ["break.end", "break.start", "login"]);
    assert!(newest.windows(2).all(|w| w[0].0 > w[1].0), "{newest:?}");
    for (_, at, _) in &newest {
        let parsed = at.parse::<jiff::Timestamp>();
        assert!(
            at.ends_with('Z') && parsed.is_ok(),
            "not RFC 3339 UTC: {at}"
        );
    }

    let oldest = rows(&cli(&app, &["history", "acme", "--oldest-first"]).await.ok());
    let mut reversed = newest.clone();
    reversed.reverse();
    let ids = |r: &[(i64, String, String)]| r.iter().map(|r| r.0).collect::<Vec<_>>();
    assert_eq!(ids(&oldest), ids(&reversed));

    // Pages follow the listing's order: past the last id printed.
    let first = rows(&cli(&app, &["history", "acme", "--limit", "1"]).await.ok());
    let after = first[0].0.to_string();
    let next = rows(
        &cli(
            &app,
            &["history", "acme", "--limit", "1", "--after", &after],
        )
        .await
        .ok(),
    );
    assert_eq!(ids(&next), [newest[1].0]);

    // The local time zone: TZ's offset, the same instant.
    let db = app.db.as_ref().unwrap().url();
    let local = run_with(&db, &[("TZ", "Asia/Kolkata")], &["history", "acme"])
        .await
        .ok();
    let local = rows(&local);
    assert!(local[0].1.ends_with("+05:30"), "{local:?}");
    assert_eq!(
        local[0].1.parse::<jiff::Timestamp>().unwrap(),
        newest[0].1.parse::<jiff::Timestamp>().unwrap()
    );

    // --from and --to take RFC 3339 too: nothing happened before 2000 or after 2100.
    for window in [
        ["--to", "2000-01-01T00:00:00Z"],
        ["--from", "2100-01-01T00:00:00+01:00"],
    ] {
        let args = ["history", "acme", window[0], window[1]];
        assert_eq!(cli(&app, &args).await.ok(), "");
    }
    let refused = cli(&app, &["history", "acme", "--from", "yesterday"]).await;
    assert_eq!(refused.code, Some(2), "clap's usage error");
    assert!(
        refused.stderr.contains("neither RFC 3339"),
        "{}",
        refused.stderr
    );
}
