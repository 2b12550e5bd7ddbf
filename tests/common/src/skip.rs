//! Loud skips: what a test needs and lacks fails under CI=true and is skipped elsewhere, with a
//! message plain `cargo test` shows.

use std::io::Write;

/// Whether this is CI (CI=true): there, what a test needs and lacks is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A test that cannot run here for want of `lacking`: under CI a failure; elsewhere a message,
/// with `hint` (how to get it), written past the test harness's capture of `eprintln!`.
#[track_caller]
pub fn skip(lacking: &str, hint: &str) {
    assert!(!in_ci(), "CI=true and {lacking}: {hint}");
    let message = format!("\n!!! SKIPPED: {lacking}.\n!!! {hint}; under CI=true this fails.\n");
    let _ = std::io::stderr().write_all(message.as_bytes());
}
