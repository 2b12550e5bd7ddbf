//! The supervisor board (`/board`) and `/docs` in a real browser: headless Chromium driven
//! through chromedriver (fantoccini), against the real server binary, used as a supervisor
//! would use it. The tests are listed here; each file holds what its tests do.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `CHROMIUM` and `CHROMEDRIVER` name others). Without them the browser tests
//! are skipped with a loud message, except under `CI=true`, where they fail. The PostgreSQL half
//! follows the support crate (`tests/common`: TEST_DATABASE_URL; skipped loudly locally, a
//! failure in CI).
//!
//! `BOARD_SCREENSHOT=docs/board.png cargo test --test browser` also writes the busy-floor
//! screenshot there.

mod board;
mod docs;
mod driver;
mod floor;
mod reports;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_assets_are_served_with_their_types() {
    board::assets_are_served_with_their_types().await;
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn board_follows_the_stream() {
        crate::board::follows_the_stream(agentprofile_test_support::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn board_follows_the_stream() {
        crate::board::follows_the_stream(agentprofile_test_support::Backend::Postgres).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_under_their_csp() {
    docs::render_under_their_csp().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_screenshot_of_a_busy_floor() {
    floor::screenshot_of_a_busy_floor().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_keeps_up_with_1000_agents_and_50_changes_a_second() {
    floor::keeps_up_with_1000_agents_and_50_changes_a_second().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_reports_view_shows_the_apis_numbers() {
    reports::reports_view_shows_the_apis_numbers().await;
}
