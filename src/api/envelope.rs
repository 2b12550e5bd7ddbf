//! JSON answers: `{"status":"success","data":…}` and the shared content type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub const JSON_UTF8: &str = "application/json; charset=utf-8";

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
            bytes,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not serialize an answer");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
                r#"{"status":"error","message":"Internal server error","code":1032}"#,
            )
                .into_response()
        }
    }
}

/// A success answer: `{"status":"success","data":DATA}`.
pub struct Success<T>(pub T);

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<T> {
            status: &'static str,
            data: T,
        }
        json_response(
            StatusCode::OK,
            &Body {
                status: "success",
                data: self.0,
            },
        )
    }
}
