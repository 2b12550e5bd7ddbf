//! The error envelope: one enum that knows each upstream code and message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::{AnswerCode, json_response};
use crate::service::ServiceError;

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
    #[error("Too many streams")]
    TooManyStreams,
    /// Too many failed authentications from this address or for this `userId`: the seconds
    /// until it may try again go in `Retry-After`.
    #[error("Too many failed attempts")]
    Throttled(u64) as 60,
    #[error("Token scope does not allow this")]
    OutOfScope,
    #[error("Agent on a call")]
    OnCall,
    #[error("Agent already on a call")]
    AlreadyOnCall,
    #[error("Agent not on a call")]
    NotOnCall,
    #[error("Agent not logged in")]
    NotLoggedIn,
    #[error("Cannot revoke the token in use")]
    TokenInUse,
    #[error("Invalid report period")]
    ReportPeriod,
    #[error("Report period too long")]
    PeriodTooLong,
    #[error("Report period before retained history")]
    BeforeRetention,
    #[error("Unknown time zone")]
    UnknownTimeZone,
    #[error("Invalid report option")]
    ReportOption,
    #[error("Webhook URL not allowed")]
    WebhookUrl,
    #[error("Webhook URL resolves to a private address")]
    WebhookPrivate,
    #[error("Unknown event kind")]
    UnknownEventFilter,
    #[error("Invalid Request Data")]
    InvalidRequest,
    #[error("Invalid Request Data")]
    BodyTooLarge,
    #[error("Invalid Request Data")]
    UnknownPath,
    #[error("Invalid Request Data")]
    MethodNotAllowed,
}
}

/// What the table says of one error, besides its message (the `#[error]` above).
struct Row {
    code: u16,
    /// The HTTP status of the agentProfile v2 surface: 200 for every handled error, as
    /// upstream answers (its clients read a non-200 as a transport failure).
    upstream: StatusCode,
    /// The HTTP status of the management API (`/v1`): a real one per error.
    rest: StatusCode,
    /// When it is answered: the last column of the OpenAPI description's table.
    when: &'static str,
}

const fn row(code: u16, upstream: StatusCode, rest: StatusCode, when: &'static str) -> Row {
    Row {
        code,
        upstream,
        rest,
        when,
    }
}

impl ApiError {
    /// The table: each error's code, statuses and when it is answered, once.
    #[rustfmt::skip]
    fn row(&self) -> Row {
        use StatusCode as S;
        match self {
            ApiError::AgentMismatch => row(1501, S::OK, S::NOT_FOUND,
                "`agentId` is not the session's agent, or not an agent of the token's account"),
            ApiError::NotOnBreak => row(1502, S::OK, S::CONFLICT,
                "`agentOnBreak` / `endBreak` for an agent not on break"),
            ApiError::PingSsidInvalid => row(1503, S::OK, S::UNAUTHORIZED,
                "`setWebPingTime` with an unknown, expired or logged-out `ssid`"),
            ApiError::NotInWrapUp => row(1504, S::OK, S::CONFLICT,
                "`wrapUp`, `checkAgentInWrapUp`, `endWrapUp` outside wrap-up"),
            ApiError::Missing(_) => row(1505, S::OK, S::UNPROCESSABLE_ENTITY,
                "a required parameter is missing, e.g. `Missing required parameters:mic_perm`; \
                 nothing to authenticate with: `Missing required parameters:ssid`"),
            ApiError::BadPingTime => row(1506, S::OK, S::UNPROCESSABLE_ENTITY,
                "`ping_time` that is not a Unix time (seconds or milliseconds)"),
            ApiError::AlreadyOnBreak => row(1507, S::OK, S::CONFLICT,
                "starting a break while on break"),
            ApiError::UnknownReason => row(1508, S::OK, S::UNPROCESSABLE_ENTITY,
                "a reason that is not an active reason of the account"),
            ApiError::CannotEndEarly => row(1509, S::OK, S::CONFLICT,
                "the agent ending a `forced` wrap-up early"),
            ApiError::AgentDisabled => row(1510, S::OK, S::CONFLICT,
                "token authentication naming a disabled agent; actions on a disabled agent"),
            ApiError::AlreadyInWrapUp => row(1511, S::OK, S::CONFLICT,
                "starting wrap-up while in wrap-up"),
            ApiError::NoSuchResource => row(1512, S::OK, S::NOT_FOUND,
                "`/v1`: no such agent, reason or session in this account"),
            ApiError::AlreadyExists => row(1513, S::OK, S::CONFLICT,
                "`/v1`: an agent id or reason code already taken; an ssid to register that is \
                 already a session's"),
            ApiError::InvalidParams => row(1000, S::OK, S::UNPROCESSABLE_ENTITY,
                "an unknown or expired `ssid` (routes other than `setWebPingTime`); `ssid` with \
                 `userId`/`token`; `/v1`: a value out of range, an ssid to register that is not \
                 32 to 256 characters of `[A-Za-z0-9_-]`"),
            ApiError::InvalidType => row(1001, S::OK, S::UNPROCESSABLE_ENTITY,
                "a parameter of the wrong JSON type; a `mic_perm` that is not accepted"),
            ApiError::DbUnavailable => row(1010, S::SERVICE_UNAVAILABLE, S::SERVICE_UNAVAILABLE,
                "the database cannot be reached"),
            ApiError::InvalidToken => row(1014, S::OK, S::UNAUTHORIZED,
                "`userId` + `token` that do not authenticate; `/v1`: a missing or bad bearer token"),
            ApiError::Internal => row(1032, S::OK, S::INTERNAL_SERVER_ERROR,
                "anything unexpected (details only in the server's log)"),
            ApiError::Timeout => row(1032, S::SERVICE_UNAVAILABLE, S::SERVICE_UNAVAILABLE,
                "the request did not finish within the request timeout"),
            ApiError::Draining => row(1032, S::SERVICE_UNAVAILABLE, S::SERVICE_UNAVAILABLE,
                "`/readyz` while the server shuts down"),
            ApiError::Suspended => row(1039, S::OK, S::FORBIDDEN, "the account is suspended"),
            ApiError::TooManyStreams => row(1514, S::OK, S::TOO_MANY_REQUESTS,
                "`/v1/stream`: the account has STREAM_MAX_PER_ACCOUNT streams open on this server"),
            ApiError::Throttled(_) => row(1515, S::TOO_MANY_REQUESTS, S::TOO_MANY_REQUESTS,
                "more than AUTH_FAILURES_PER_MINUTE failed authentications from the address or \
                 for the `userId`: every attempt of theirs until `Retry-After` seconds pass"),
            ApiError::OutOfScope => row(1516, S::OK, S::FORBIDDEN,
                "a token whose scope does not cover the request (`read` < `supervise` < `admin`)"),
            ApiError::OnCall => row(1517, S::OK, S::CONFLICT,
                "starting a break or a wrap-up while the agent is on a call"),
            ApiError::AlreadyOnCall => row(1518, S::OK, S::CONFLICT,
                "`/v1`: starting a call while on a call"),
            ApiError::NotOnCall => row(1519, S::OK, S::CONFLICT,
                "`/v1`: ending a call when the agent is not on one"),
            ApiError::NotLoggedIn => row(1520, S::OK, S::CONFLICT,
                "`/v1`: starting a call for an agent without a live session"),
            ApiError::TokenInUse => row(1521, S::OK, S::CONFLICT,
                "`/v1`: revoking the token the request is made with (revoke it with another)"),
            ApiError::ReportPeriod => row(1522, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/reports`: `from` or `to` not Unix seconds or ISO 8601, or `to` not after `from`"),
            ApiError::PeriodTooLong => row(1523, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/reports`: a period over 93 days, or over 100,000 rows (agents × buckets)"),
            ApiError::BeforeRetention => row(1524, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/reports`: a period starting before the history kept (EVENTS_RETENTION_DAYS)"),
            ApiError::UnknownTimeZone => row(1525, S::OK, S::UNPROCESSABLE_ENTITY,
                "`PATCH /v1/account`: a `timeZone` that is not an IANA time zone name"),
            ApiError::ReportOption => row(1526, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/reports`: a `bucket` other than `hour`, `day`, `week`, a `format` other \
                 than `json`, `csv`"),
            ApiError::WebhookUrl => row(1530, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/webhooks`: a `url` that is not an absolute `https://` URL (or `http://` \
                 with WEBHOOK_ALLOW_HTTP), holds credentials, or is over 2048 characters"),
            ApiError::WebhookPrivate => row(1531, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/webhooks`: a `url` that names or resolves to a loopback, private or \
                 link-local address (unless WEBHOOK_ALLOW_PRIVATE)"),
            ApiError::UnknownEventFilter => row(1532, S::OK, S::UNPROCESSABLE_ENTITY,
                "`/v1/webhooks`: an `events` entry that is no event kind (`break.start`), \
                 family (`break.*`) or `*`"),
            ApiError::InvalidRequest => row(1047, S::OK, S::UNPROCESSABLE_ENTITY,
                "an empty or malformed body, a JSON value that is not an object, no parameters"),
            ApiError::BodyTooLarge => row(1047, S::PAYLOAD_TOO_LARGE, S::PAYLOAD_TOO_LARGE,
                "a body larger than the body limit"),
            ApiError::UnknownPath => row(1047, S::NOT_FOUND, S::NOT_FOUND, "an unknown path"),
            ApiError::MethodNotAllowed => row(1047, S::METHOD_NOT_ALLOWED, S::METHOD_NOT_ALLOWED,
                "a method the path does not answer"),
        }
    }

    pub fn code(&self) -> u16 {
        self.row().code
    }

    /// When it is answered.
    pub fn when(&self) -> &'static str {
        self.row().when
    }

    /// The status the agentProfile v2 surface answers with.
    pub fn status(&self) -> StatusCode {
        self.row().upstream
    }

    /// The status the management API (`/v1`) answers with.
    pub fn rest_status(&self) -> StatusCode {
        self.row().rest
    }

    /// The message, with `NAME[,NAME…]` for the names a 1505 lists.
    pub fn message_pattern(&self) -> String {
        match self {
            ApiError::Missing(_) => format!("{}NAME[,NAME…]", ApiError::Missing(vec![])),
            other => other.to_string(),
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
        let retry_after = match self {
            ApiError::Throttled(secs) => Some(secs),
            _ => None,
        };
        let body = ErrorEnvelope {
            status: ErrorTag::Error,
            message: self.to_string(),
            code: self.code(),
        };
        let mut response = json_response(status, &body);
        // Lets the metrics and access log see the envelope's code, not only the HTTP status.
        response.extensions_mut().insert(AnswerCode(self.code()));
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// The service's refusals on the wire (the route may still answer its own code instead).
impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => ApiError::NoSuchResource,
            ServiceError::AlreadyExists => ApiError::AlreadyExists,
            ServiceError::AlreadyOnBreak => ApiError::AlreadyOnBreak,
            ServiceError::NotOnBreak => ApiError::NotOnBreak,
            ServiceError::UnknownReason(_) => ApiError::UnknownReason,
            ServiceError::AlreadyInWrapUp => ApiError::AlreadyInWrapUp,
            ServiceError::NotInWrapUp => ApiError::NotInWrapUp,
            ServiceError::CannotEndEarly => ApiError::CannotEndEarly,
            ServiceError::AgentDisabled => ApiError::AgentDisabled,
            ServiceError::OnCall => ApiError::OnCall,
            ServiceError::AlreadyOnCall => ApiError::AlreadyOnCall,
            ServiceError::NotOnCall => ApiError::NotOnCall,
            ServiceError::NotLoggedIn => ApiError::NotLoggedIn,
            ServiceError::Missing(name) => ApiError::Missing(vec![name]),
            ServiceError::OutOfRange(_) | ServiceError::BadSsid => ApiError::InvalidParams,
            ServiceError::BadText => ApiError::InvalidType,
            ServiceError::BadPeriod => ApiError::ReportPeriod,
            ServiceError::PeriodTooLong => ApiError::PeriodTooLong,
            ServiceError::BeforeRetention(_) => ApiError::BeforeRetention,
            ServiceError::UnknownTimeZone => ApiError::UnknownTimeZone,
            ServiceError::WebhookUrl(_) => ApiError::WebhookUrl,
            ServiceError::WebhookPrivate => ApiError::WebhookPrivate,
            ServiceError::UnknownEventFilter(_) => ApiError::UnknownEventFilter,
            ServiceError::SessionEnded => ApiError::PingSsidInvalid,
            // Logged once, when the probe found it (see `store::Health`).
            ServiceError::Down => ApiError::DbUnavailable,
            // The detail goes to the log (inside the request's span), never to the client.
            ServiceError::Unavailable(err) => {
                tracing::error!(error = %err, "database unavailable");
                ApiError::DbUnavailable
            }
            ServiceError::Storage(err) => {
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
