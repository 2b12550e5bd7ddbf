//! The middleware that counts and times every answer (errors, 404, 405, 413 and timeouts
//! too) in this server's [`Metrics`].

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::envelope::AnswerCode;
use crate::metrics::{Metrics, UNMATCHED_ROUTE, route_label};

/// `Router::layer`, so that it runs after routing (it reads the `MatchedPath`).
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, |path| route_label(path.as_str()));
    let method = request.method().clone();
    let response = next.run(request).await;
    let code = response.extensions().get::<AnswerCode>().map_or(0, |c| c.0);
    metrics.record(
        route,
        &method,
        response.status().as_u16(),
        code,
        start.elapsed(),
    );
    response
}
