//! `/board`: the supervisor board, a plain HTML/CSS/JS page compiled into the binary from
//! `assets/board/` (no build step, nothing fetched from another host). Its script and style are
//! files of their own, never inline, so it is served with a `default-src 'self'`
//! Content-Security-Policy.
//! The page signs in with the account's userId and API token and calls the `/v1` API itself.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::AppState;

/// Where the board is served.
pub const BOARD_PATH: &str = "/board";

const INDEX_HTML: &str = include_str!("../../assets/board/index.html");
const APP_JS: &str = include_str!("../../assets/board/app.js");
const APP_CSS: &str = include_str!("../../assets/board/app.css");
const ICON_SVG: &str = include_str!("../../assets/board/icon.svg");
const REPORTS_JS: &str = include_str!("../../assets/board/reports.js");

/// Each path under the board's, with its type and content: the page (with and without the
/// trailing slash) and its files.
const FILES: [(&str, &str, &str); 6] = [
    ("", "text/html; charset=utf-8", INDEX_HTML),
    ("/", "text/html; charset=utf-8", INDEX_HTML),
    ("/app.js", "text/javascript; charset=utf-8", APP_JS),
    ("/reports.js", "text/javascript; charset=utf-8", REPORTS_JS),
    ("/app.css", "text/css; charset=utf-8", APP_CSS),
    ("/icon.svg", "image/svg+xml", ICON_SVG),
];

/// The page and its files. `Content-Type` is set here: the app's layer would otherwise mark
/// every answer as JSON.
pub fn routes() -> Router<AppState> {
    FILES
        .into_iter()
        .fold(Router::new(), |router, (path, content_type, body)| {
            router.route(
                &format!("{BOARD_PATH}{path}"),
                get(move || asset(content_type, body)),
            )
        })
}

/// The page may load and call only this server: its own script, style and icon, and the
/// `/v1` API (the stream included); no frame may embed it (a wall screen is no reason to).
const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // A new binary may serve a new page: the browser asks again (and gets it cheaply).
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}
