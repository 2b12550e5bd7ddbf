//! `GET /metrics`: the Prometheus page, optionally behind `METRICS_TOKEN`.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::prometheus_text;

use super::auth::bearer;
use super::error::ApiError;
use crate::secrets;
use crate::state::AppState;

/// `GET /metrics`.
async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = state
        .config
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty());
    if let Some(expected) = token {
        let given = bearer(&headers).unwrap_or("");
        // Compared as hashes, so the time taken says nothing about the token.
        if secrets::hash(given) != secrets::hash(expected) {
            return ApiError::InvalidToken.into_response_with(StatusCode::UNAUTHORIZED);
        }
    }
    let page = state
        .metrics
        .render(
            state.store(),
            state.service.pings(),
            state.config.session_idle_timeout_secs,
        )
        .await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
        )],
        page,
    )
        .into_response()
}

/// The `/metrics` route, to merge into the app's routes (under their layers).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(scrape))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
