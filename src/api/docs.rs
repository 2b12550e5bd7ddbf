//! `/docs`: Swagger UI, compiled into the binary (`utoipa-swagger-ui` with `vendored`): no
//! asset comes from the network, at build time or at run time.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::ApiError;
use super::openapi::SPEC_PATH;
use crate::api::AppState;

/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";

/// Swagger UI may load and call only this server. Its stylesheet's images are `data:` URLs,
/// and its bundle adds one `<style>` of its own, allowed by its hash (a new vendored version
/// with another one is caught by the browser test `docs_render_under_their_csp`).
/// `base-uri 'self'` lets the page pin its relative URLs (below).
const CSP: &str = "default-src 'self'; img-src 'self' data:; \
    style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// `/docs`: Swagger UI for `/openapi.json`, from files compiled into the binary.
pub fn routes() -> Router<AppState> {
    let config = Arc::new(
        utoipa_swagger_ui::Config::new([SPEC_PATH])
            // Swagger UI would otherwise send the description to an online validator.
            .validator_url("none"),
    );
    let index = {
        let config = config.clone();
        move || {
            let config = config.clone();
            async move { docs_file("index.html", config) }
        }
    };
    let asset = move |Path(file): Path<String>| async move { docs_file(&file, config) };
    Router::new()
        .route(DOCS_PATH, get(index.clone()))
        .route(&format!("{DOCS_PATH}/"), get(index))
        .route(&format!("{DOCS_PATH}/{{*file}}"), get(asset))
}

fn docs_file(file: &str, config: Arc<utoipa_swagger_ui::Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(found)) => {
            let mut bytes = found.bytes.into_owned();
            if file == "index.html" {
                // Served at `/docs` too, where `./x` would mean `/x`: pin relative URLs to `/docs/`.
                let html = String::from_utf8_lossy(&bytes).replacen(
                    "<head>",
                    &format!("<head>\n    <base href=\"{DOCS_PATH}/\">"),
                    1,
                );
                bytes = html.into_bytes();
            }
            let content_type = if found.content_type.starts_with("text/") {
                format!("{}; charset=utf-8", found.content_type)
            } else {
                found.content_type
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, content_type),
                    (header::CONTENT_SECURITY_POLICY, CSP.to_owned()),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => ApiError::UnknownPath.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not serve a docs file");
            ApiError::Internal.into_response_with(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
