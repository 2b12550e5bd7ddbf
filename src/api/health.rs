//! `/healthz` (the process answers) and `/readyz` (the database answers and we are not draining).

use std::sync::atomic::Ordering;

use axum::extract::State;
use serde_json::{Value, json};

use super::envelope::Success;
use super::error::ApiError;
use crate::app::AppState;

pub async fn healthz() -> Success<Value> {
    Success(json!({ "alive": true }))
}

pub async fn readyz(State(app): State<AppState>) -> Result<Success<Value>, ApiError> {
    if app.draining.load(Ordering::Relaxed) {
        return Err(ApiError::Draining);
    }
    app.store.ping().await?;
    Ok(Success(
        json!({ "ready": true, "database": app.store.kind() }),
    ))
}
