//! The route of a request, for its count, latency and log line.
//!
//! The route is known only after routing, while the count is taken outside everything that
//! may answer an error: the edge ([`super::edge`]), once around the whole router, opens a
//! route slot for the request (a task-local: no allocation), and [`LabelLayer`], the one
//! layer applied per route, fills it with the matched template (and records it on the
//! request's log span).

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use tower::{Layer, Service};

use crate::metrics::route_label;

tokio::task_local! {
    /// The route template of the request being answered, once routed.
    pub(super) static ROUTE: Cell<&'static str>;
}

/// Per route (`Router::layer`, after routing): names the request's route.
#[derive(Clone, Copy)]
pub struct LabelLayer;

impl<S> Layer<S> for LabelLayer {
    type Service = Label<S>;

    fn layer(&self, inner: S) -> Label<S> {
        Label {
            inner,
            known: Arc::default(),
        }
    }
}

/// One per route: it remembers its route's interned label (checked against the request's
/// template, so never a wrong one), so that most requests skip the interning's lookup.
#[derive(Clone)]
pub struct Label<S> {
    inner: S,
    known: Arc<OnceLock<&'static str>>,
}

impl<S: Service<Request>> Service<Request> for Label<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> S::Future {
        // The router's fallback (no MatchedPath) stays unmatched.
        if let Some(path) = request.extensions().get::<MatchedPath>() {
            let path = path.as_str();
            let route = match self.known.get() {
                Some(known) if *known == path => known,
                _ => {
                    let route = route_label(path);
                    let _ = self.known.set(route);
                    route
                }
            };
            let _ = ROUTE.try_with(|slot| slot.set(route));
            tracing::Span::current().record("route", route);
        }
        self.inner.call(request)
    }
}
