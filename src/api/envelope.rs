//! JSON answers: `{"status":"success","data":…}` and the shared content type.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorEnvelope;

pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// The envelope code an error answer carries (in its extensions), for the metrics and the
/// access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerCode(pub u16);

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    // Room for the upstream answers without growing (serde_json's `to_vec` starts at 128).
    let mut bytes = Vec::with_capacity(512);
    match serde_json::to_writer(&mut bytes, body) {
        Ok(()) => (
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

/// `{"status":"success","data":…}`: every success answer, on both surfaces.
#[derive(Serialize, ToSchema)]
pub struct SuccessEnvelope<T> {
    #[schema(inline)]
    status: SuccessTag,
    data: T,
}

/// Always `"success"`.
#[derive(Serialize, ToSchema)]
pub enum SuccessTag {
    #[serde(rename = "success")]
    Success,
}

/// `{"status":"success","data":DATA}` with this status.
pub fn success_response<T: Serialize>(status: StatusCode, data: T) -> Response {
    json_response(
        status,
        &SuccessEnvelope {
            status: SuccessTag::Success,
            data,
        },
    )
}

/// What an upstream handler answers: the success envelope or the error envelope, HTTP 200.
pub type Reply<T> = Result<Success<T>, super::error::ApiError>;

/// A success answer of the upstream surface (always HTTP 200).
pub struct Success<T>(pub T);

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        success_response(StatusCode::OK, self.0)
    }
}

/// The answer of an upstream route (HTTP 200): the success envelope, or the error envelope.
#[derive(ToSchema)]
#[allow(dead_code)] // only described, never built: the handlers answer `Result<Success<T>, ApiError>`
#[serde(untagged)]
pub enum UpstreamAnswer<T> {
    Success(SuccessEnvelope<T>),
    Error(ErrorEnvelope),
}

/// Writes an agent shared with the live view as its id (upstream's `agent_id`), uncopied.
pub fn agent_id<S: serde::Serializer>(
    agent: &crate::domain::Agent,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&agent.agent_id)
}

/// Writes an account as its `userId` (upstream's `user_id`), uncopied.
pub fn user_id<S: serde::Serializer>(
    account: &crate::domain::Account,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&account.user_id)
}
