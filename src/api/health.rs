//! `/healthz` (the process answers) and `/readyz` (the database answers and we are not draining).

use std::sync::atomic::Ordering;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::{Success, SuccessEnvelope};
use super::error::{ApiError, ErrorEnvelope};
use crate::api::AppState;

#[derive(Serialize, ToSchema)]
pub struct Alive {
    /// Always true.
    alive: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `sqlite` or `postgres`.
    #[schema(value_type = String)]
    database: &'static str,
    /// Always true.
    ready: bool,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "health",
    responses((status = 200, body = SuccessEnvelope<Alive>, description = "Always")),
)]
pub async fn healthz() -> Success<Alive> {
    Success(Alive { alive: true })
}

/// Readiness: the database answers and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "health",
    responses(
        (status = 200, body = SuccessEnvelope<Ready>, description = "Ready"),
        (status = 503, body = ErrorEnvelope,
            description = "Not ready: 1010 the database cannot be reached, 1032 shutting down"),
    ),
)]
pub async fn readyz(State(app): State<AppState>) -> Result<Success<Ready>, ApiError> {
    if app.draining.load(Ordering::Relaxed) {
        return Err(ApiError::Draining);
    }
    app.service.ping_database().await?;
    Ok(Success(Ready {
        database: app.service.database_kind(),
        ready: true,
    }))
}
