//! The API's request timeout (`REQUEST_TIMEOUT_SECS`): a request not answered in time is
//! answered 1032 (`ApiError::Timeout`), inside CORS, so that a browser can read it.
//!
//! tower's timeout layer fails with an error that axum's `HandleErrorLayer` turns into the
//! answer; that pair boxed each request's future and cloned the router into it. Here the
//! router (always ready) is called as it is, and its future is wrapped in tokio's, unboxed.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::Response;
use axum::response::IntoResponse;
use futures_util::FutureExt;
use futures_util::future::Map;
use tokio::time::Timeout;
use tokio::time::error::Elapsed;
use tower::{Layer, Service};

use super::ApiError;

#[derive(Clone, Copy)]
pub struct DeadlineLayer(pub Duration);

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            limit: self.0,
        }
    }
}

#[derive(Clone)]
pub struct Deadline<S> {
    inner: S,
    limit: Duration,
}

type Answered = Result<Response<Body>, Infallible>;

/// The inner answer, or 1032 when the time ran out first.
fn in_time(outcome: Result<Answered, Elapsed>) -> Answered {
    outcome.unwrap_or_else(|_| Ok(ApiError::Timeout.into_response()))
}

impl<S> Service<Request> for Deadline<S>
where
    S: Service<Request, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Map<Timeout<S::Future>, fn(Result<Answered, Elapsed>) -> Answered>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        tokio::time::timeout(self.limit, self.inner.call(request)).map(in_time as fn(_) -> _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::envelope::AnswerCode;

    async fn answer(limit: Duration, takes: Duration) -> Response<Body> {
        let slow = tower::service_fn(move |_: Request| async move {
            tokio::time::sleep(takes).await;
            Ok::<_, Infallible>(Response::new(Body::from("answered")))
        });
        let mut deadline = DeadlineLayer(limit).layer(slow);
        let Ok(()) = std::future::poll_fn(|cx| deadline.poll_ready(cx)).await;
        let Ok(response) = deadline.call(Request::new(Body::empty())).await;
        response
    }

    async fn body(response: Response<Body>) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_through() {
        let response = answer(Duration::from_secs(5), Duration::from_millis(1)).await;
        assert_eq!(response.extensions().get::<AnswerCode>(), None);
        assert_eq!(body(response).await, "answered");
    }

    #[tokio::test]
    async fn a_late_answer_is_1032_at_the_limit() {
        let started = std::time::Instant::now();
        let response = answer(Duration::from_millis(50), Duration::from_secs(30)).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            response.extensions().get::<AnswerCode>(),
            Some(&AnswerCode(1032))
        );
        let expected = ApiError::Timeout.into_response();
        assert_eq!(response.status(), expected.status());
        assert_eq!(body(response).await, body(expected).await);
    }
}
