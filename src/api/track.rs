//! Counting and timing every answer (errors, 404, 405, 413 and timeouts too) in this server's
//! [`Metrics`], by route template.
//!
//! Two pieces, because the route is known only after routing while the count must be taken
//! outside everything that may answer an error: [`TrackLayer`], once around the whole router,
//! opens a route slot for the request (a task-local: no allocation), times it and counts its
//! answer; [`LabelLayer`], the one layer applied per route, fills the slot with the matched
//! template (and records it on the request's log span).

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Response;
use tower::{Layer, Service, ServiceExt};

use super::envelope::AnswerCode;
use crate::metrics::{Metrics, UNMATCHED_ROUTE, route_label};

tokio::task_local! {
    /// The route template of the request being answered, once routed.
    static ROUTE: Cell<&'static str>;
}

/// Around the whole router: counts and times each answer under its route.
#[derive(Clone)]
pub struct TrackLayer(pub Arc<Metrics>);

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: 'static,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let start = Instant::now();
        let method = request.method().clone();
        let metrics = self.metrics.clone();
        // Called inside the slot's scope, so that routing (whenever the router does it) fills it.
        let inner = self.inner.clone();
        Box::pin(ROUTE.scope(Cell::new(UNMATCHED_ROUTE), async move {
            let Ok(response) = inner.oneshot(request).await;
            let code = response.extensions().get::<AnswerCode>().map_or(0, |c| c.0);
            let route = ROUTE.with(Cell::get);
            metrics.record(
                route,
                &method,
                response.status().as_u16(),
                code,
                start.elapsed(),
            );
            Ok(response)
        }))
    }
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
