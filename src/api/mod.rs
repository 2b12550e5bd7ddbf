//! The HTTP surfaces. The agentProfile v2 wire: request reading (`params`), the auth extractor
//! (`auth`), the envelope and the one error table, one file per route; the management API
//! (`v1/`, a file per resource); `/openapi.json` (`openapi`), `/docs` (`docs`), `/metrics`
//! (`metrics_page`) and the health probes. Handlers read their input, call the service, and
//! shape its answer.

mod agent_actions;
mod agent_on_break;
pub mod auth;
mod board;
mod credentials;
pub mod deadline;
mod docs;
pub mod edge;
pub mod envelope;
pub mod error;
mod health;
mod metrics_page;
pub mod openapi;
pub mod params;
mod set_web_ping_time;
mod state;
mod tags;
pub mod throttle;
pub mod track;
pub mod v1;
mod wrap_up;

use axum::Router;
use utoipa::OpenApi as _;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

pub use error::ApiError;
pub use metrics_page::{METRICS_PATH, routes as metrics_routes};
pub use state::AppState;

/// Both prefixes upstream clients use.
pub const PREFIXES: [&str; 2] = ["/api/v2/agentProfile", "/deepcall/api/v2/agentProfile"];

/// The upstream routes under `prefix`.
fn upstream(router: OpenApiRouter<AppState>, prefix: &str) -> OpenApiRouter<AppState> {
    router
        .routes(at(prefix, routes!(agent_on_break::agent_on_break)))
        .routes(at(prefix, routes!(set_web_ping_time::set_web_ping_time)))
        .routes(at(prefix, routes!(wrap_up::wrap_up)))
        .routes(at(prefix, routes!(wrap_up::check_agent_in_wrap_up)))
        .routes(at(prefix, routes!(agent_actions::start_break)))
        .routes(at(prefix, routes!(agent_actions::end_break)))
        .routes(at(prefix, routes!(agent_actions::end_wrap_up)))
        .routes(at(prefix, routes!(tags::tags)))
}

/// A documented route with its path under `prefix`: routed at its full path, not `nest`ed
/// (a nested route gets a layer that rewrites the URI of every request, and each layer is
/// cloned per request).
fn at(
    prefix: &str,
    (schemas, mut paths, router): UtoipaMethodRouter<AppState>,
) -> UtoipaMethodRouter<AppState> {
    paths.paths = std::mem::take(&mut paths.paths)
        .into_iter()
        .map(|(path, item)| (format!("{prefix}{path}"), item))
        .collect();
    (schemas, paths, router)
}

/// Every route with its description: the one source of the router and of `/openapi.json`.
fn documented() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(v1::routes())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(openapi::openapi_json));
    for prefix in PREFIXES {
        router = upstream(router, prefix);
    }
    router
}

/// The OpenAPI 3.1 description of every route, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = documented().split_for_parts();
    openapi::finish(&mut api);
    api
}

/// The routes, without layers: the documented ones, `/docs`, and the 404/405 envelopes.
pub fn routes() -> Router<AppState> {
    let (router, _) = documented().split_for_parts();
    router
        .merge(docs::routes())
        .merge(board::routes())
        .fallback(|| async { ApiError::UnknownPath })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
}
