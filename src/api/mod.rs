//! The agentProfile v2 wire: request reading, the auth extractor, the envelope, one file per route.

mod agent_actions;
mod agent_on_break;
pub mod auth;
pub mod envelope;
pub mod error;
mod health;
pub mod params;
mod set_web_ping_time;
pub mod v1;
mod wrap_up;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;
pub use error::ApiError;

/// Both prefixes upstream clients use.
pub const PREFIXES: [&str; 2] = ["/api/v2/agentProfile", "/deepcall/api/v2/agentProfile"];

/// The routes, without layers.
pub fn routes() -> Router<AppState> {
    let mut router = v1::routes()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    for prefix in PREFIXES {
        router = router
            .route(
                &format!("{prefix}/agentOnBreak"),
                post(agent_on_break::agent_on_break),
            )
            .route(
                &format!("{prefix}/setWebPingTime"),
                post(set_web_ping_time::set_web_ping_time),
            )
            .route(&format!("{prefix}/wrapUp"), post(wrap_up::wrap_up))
            .route(
                &format!("{prefix}/checkAgentInWrapUp"),
                post(wrap_up::wrap_up),
            )
            .route(
                &format!("{prefix}/startBreak"),
                post(agent_actions::start_break),
            )
            .route(
                &format!("{prefix}/endBreak"),
                post(agent_actions::end_break),
            )
            .route(
                &format!("{prefix}/endWrapUp"),
                post(agent_actions::end_wrap_up),
            );
    }
    router
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
