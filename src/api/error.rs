//! The error envelope: one enum that knows each upstream code and message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::json_response;
use crate::actions::ActionError;
use crate::store::StoreError;

/// Declares [`ApiError`] and [`ApiError::every`] from one list, so the list of every variant (the
/// OpenAPI description's table of codes and messages) cannot miss one. A variant with a field
/// names an example value for it after `as`.
macro_rules! api_errors {
    (
        $(#[$enum_attr:meta])*
        pub enum ApiError {
            $( $(#[$attr:meta])* $variant:ident $(($field:ty) as $example:expr)?, )*
        }
    ) => {
        $(#[$enum_attr])*
        pub enum ApiError {
            $( $(#[$attr])* $variant $(($field))?, )*
        }

        impl ApiError {
            /// Every variant once, in declaration order (those with a field, with an example value).
            pub fn every() -> Vec<ApiError> {
                vec![$( ApiError::$variant $(($example))?, )*]
            }
        }
    };
}

api_errors! {
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("Agent id not match")]
    AgentMismatch,
    #[error("On break is : 0")]
    NotOnBreak,
    #[error("SSID not valid for setWebPingTime")]
    PingSsidInvalid,
    #[error("Agent not in wrap time")]
    NotInWrapUp,
    #[error("Missing required parameters:{}", .0.join(","))]
    Missing(Vec<&'static str>) as vec!["mic_perm"],
    #[error("Cannot update [ping_time] as it is of incompatible type")]
    BadPingTime,
    #[error("Agent already on break")]
    AlreadyOnBreak,
    #[error("Unknown break reason")]
    UnknownReason,
    #[error("Wrap-up cannot be ended early")]
    CannotEndEarly,
    #[error("Agent disabled")]
    AgentDisabled,
    #[error("Agent already in wrap time")]
    AlreadyInWrapUp,
    #[error("Not found")]
    NoSuchResource,
    #[error("Already exists")]
    AlreadyExists,
    #[error("Invalid parameter(s)")]
    InvalidParams,
    #[error("Invalid data type")]
    InvalidType,
    #[error("Error in DB connect")]
    DbUnavailable,
    #[error("Invalid token (expired or invalid)")]
    InvalidToken,
    #[error("Internal server error")]
    Internal,
    /// The request did not finish within REQUEST_TIMEOUT_SECS.
    #[error("Internal server error")]
    Timeout,
    /// Shutting down: `/readyz` tells load balancers to stop sending.
    #[error("Internal server error")]
    Draining,
    #[error("User account suspended")]
    Suspended,
    #[error("Invalid Request Data")]
    InvalidRequest,
    #[error("Invalid Request Data")]
    BodyTooLarge,
    #[error("Invalid Request Data")]
    NotFound,
    #[error("Invalid Request Data")]
    MethodNotAllowed,
}
}

impl ApiError {
    pub fn code(&self) -> u16 {
        match self {
            ApiError::AgentMismatch => 1501,
            ApiError::NotOnBreak => 1502,
            ApiError::PingSsidInvalid => 1503,
            ApiError::NotInWrapUp => 1504,
            ApiError::Missing(_) => 1505,
            ApiError::BadPingTime => 1506,
            ApiError::AlreadyOnBreak => 1507,
            ApiError::UnknownReason => 1508,
            ApiError::CannotEndEarly => 1509,
            ApiError::AgentDisabled => 1510,
            ApiError::AlreadyInWrapUp => 1511,
            ApiError::NoSuchResource => 1512,
            ApiError::AlreadyExists => 1513,
            ApiError::InvalidParams => 1000,
            ApiError::InvalidType => 1001,
            ApiError::DbUnavailable => 1010,
            ApiError::InvalidToken => 1014,
            ApiError::Internal | ApiError::Timeout | ApiError::Draining => 1032,
            ApiError::Suspended => 1039,
            ApiError::InvalidRequest
            | ApiError::BodyTooLarge
            | ApiError::NotFound
            | ApiError::MethodNotAllowed => 1047,
        }
    }

    /// When it is answered: the last column of the OpenAPI description's table.
    pub fn when(&self) -> &'static str {
        match self {
            ApiError::AgentMismatch => {
                "`agentId` is not the session's agent, or not an agent of the token's account"
            }
            ApiError::NotOnBreak => "`agentOnBreak` / `endBreak` for an agent not on break",
            ApiError::PingSsidInvalid => {
                "`setWebPingTime` with an unknown, expired or logged-out `ssid`"
            }
            ApiError::NotInWrapUp => "`wrapUp`, `checkAgentInWrapUp`, `endWrapUp` outside wrap-up",
            ApiError::Missing(_) => {
                "a required parameter is missing, e.g. `Missing required parameters:mic_perm`; \
                 nothing to authenticate with: `Missing required parameters:ssid`"
            }
            ApiError::BadPingTime => {
                "`ping_time` that is not a Unix time (seconds or milliseconds)"
            }
            ApiError::AlreadyOnBreak => "starting a break while on break",
            ApiError::UnknownReason => "a reason that is not an active reason of the account",
            ApiError::CannotEndEarly => "the agent ending a `forced` wrap-up early",
            ApiError::AgentDisabled => {
                "token authentication naming a disabled agent; actions on a disabled agent"
            }
            ApiError::AlreadyInWrapUp => "starting wrap-up while in wrap-up",
            ApiError::NoSuchResource => "`/v1`: no such agent, reason or session in this account",
            ApiError::AlreadyExists => "`/v1`: an agent id or reason code already taken",
            ApiError::InvalidParams => {
                "an unknown or expired `ssid` (routes other than `setWebPingTime`); `ssid` with \
                 `userId`/`token`; `/v1`: a value out of range"
            }
            ApiError::InvalidType => {
                "a parameter of the wrong JSON type; a `mic_perm` that is not accepted"
            }
            ApiError::DbUnavailable => "the database cannot be reached",
            ApiError::InvalidToken => {
                "`userId` + `token` that do not authenticate; `/v1`: a missing or bad bearer token"
            }
            ApiError::Internal => "anything unexpected (details only in the server's log)",
            ApiError::Timeout => "the request did not finish within the request timeout",
            ApiError::Draining => "`/readyz` while the server shuts down",
            ApiError::Suspended => "the account is suspended",
            ApiError::InvalidRequest => {
                "an empty or malformed body, a JSON value that is not an object, no parameters"
            }
            ApiError::BodyTooLarge => "a body larger than the body limit",
            ApiError::NotFound => "an unknown path",
            ApiError::MethodNotAllowed => "a method the path does not answer",
        }
    }

    /// The message, with `NAME[,NAME…]` for the names a 1505 lists.
    pub fn message_pattern(&self) -> String {
        match self {
            ApiError::Missing(_) => format!("{}NAME[,NAME…]", ApiError::Missing(vec![])),
            other => other.to_string(),
        }
    }

    /// The status the management API (`/v1`) answers with: a real HTTP status per error.
    pub fn rest_status(&self) -> StatusCode {
        match self {
            ApiError::Missing(_)
            | ApiError::InvalidType
            | ApiError::InvalidParams
            | ApiError::InvalidRequest
            | ApiError::BadPingTime
            | ApiError::UnknownReason => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::InvalidToken | ApiError::PingSsidInvalid => StatusCode::UNAUTHORIZED,
            ApiError::Suspended => StatusCode::FORBIDDEN,
            ApiError::AgentMismatch | ApiError::NoSuchResource => StatusCode::NOT_FOUND,
            ApiError::AlreadyOnBreak
            | ApiError::AlreadyInWrapUp
            | ApiError::AlreadyExists
            | ApiError::NotOnBreak
            | ApiError::NotInWrapUp
            | ApiError::CannotEndEarly
            | ApiError::AgentDisabled => StatusCode::CONFLICT,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => self.status(),
        }
    }

    /// Handled errors answer 200, as upstream does: its clients read a non-200 as a transport failure.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::DbUnavailable | ApiError::Timeout | ApiError::Draining => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::OK,
        }
    }
}

/// `{"status":"error","message":"…","code":N}`, compact, keys in this order. The OpenAPI
/// description adds the table of every code and message to this schema.
#[derive(Serialize, ToSchema)]
pub struct ErrorEnvelope {
    #[schema(inline)]
    status: ErrorTag,
    message: String,
    code: u16,
}

/// Always `"error"`.
#[derive(Serialize, ToSchema)]
pub enum ErrorTag {
    #[serde(rename = "error")]
    Error,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        self.into_response_with(status)
    }
}

impl ApiError {
    /// The envelope with this HTTP status.
    pub fn into_response_with(self, status: StatusCode) -> Response {
        let body = ErrorEnvelope {
            status: ErrorTag::Error,
            message: self.to_string(),
            code: self.code(),
        };
        let mut response = json_response(status, &body);
        // Lets the metrics and access log see the envelope's code, not only the HTTP status.
        response.extensions_mut().insert(self);
        response
    }
}

impl From<ActionError> for ApiError {
    fn from(err: ActionError) -> Self {
        match err {
            ActionError::AlreadyOnBreak => ApiError::AlreadyOnBreak,
            ActionError::NotOnBreak => ApiError::NotOnBreak,
            ActionError::UnknownReason(_) => ApiError::UnknownReason,
            ActionError::AlreadyInWrapUp => ApiError::AlreadyInWrapUp,
            ActionError::NotInWrapUp => ApiError::NotInWrapUp,
            ActionError::CannotEndEarly => ApiError::CannotEndEarly,
            ActionError::AgentDisabled => ApiError::AgentDisabled,
            ActionError::Empty(name) => ApiError::Missing(vec![name]),
            ActionError::Store(e) => e.into(),
        }
    }
}

/// Store failures: the detail goes to the log (inside the request's span), never to the client.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::BadText => ApiError::InvalidType,
            StoreError::AgentDisabled => ApiError::AgentDisabled,
            StoreError::SessionEnded => ApiError::PingSsidInvalid,
            StoreError::Unavailable(_) => {
                tracing::error!(error = %err, "database unavailable");
                ApiError::DbUnavailable
            }
            _ => {
                tracing::error!(error = %err, "store error");
                ApiError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn not_on_break_is_the_58_bytes_of_the_reference_page() {
        let response = ApiError::NotOnBreak.into_response();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"status":"error","message":"On break is : 0","code":1502}"#
        );
        assert_eq!(body.len(), 58);
    }

    #[test]
    fn missing_lists_every_name() {
        let e = ApiError::Missing(vec!["agentId", "mic_perm"]);
        assert_eq!(
            e.to_string(),
            "Missing required parameters:agentId,mic_perm"
        );
    }
}
