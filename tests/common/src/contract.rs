//! The contract's error envelopes, made from the server's own table (`ApiError`): each code's
//! message is written once, in the library. `tests/api/contract.rs` pins them to literals.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use crate::ApiError;
use serde_json::Value;

pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// The envelope of an error, byte for byte as the server answers it.
pub fn envelope(error: &ApiError) -> String {
    let message = serde_json::to_string(&error.to_string()).unwrap();
    format!(
        r#"{{"status":"error","message":{message},"code":{}}}"#,
        error.code()
    )
}

/// An envelope, made when first used.
pub type Envelope = LazyLock<String>;

macro_rules! envelopes {
    ($($name:ident = $error:expr,)*) => {
        $(
            pub static $name: Envelope = LazyLock::new(|| envelope(&$error));
        )*
        /// Every named envelope with its name, for the test that pins them to literals.
        pub fn named_envelopes() -> Vec<(&'static str, &'static str)> {
            vec![$((stringify!($name), $name.as_str()),)*]
        }
    };
}

envelopes! {
    INVALID_PARAMETERS = ApiError::InvalidParams,
    INVALID_DATA_TYPE = ApiError::InvalidType,
    DB_CONNECT = ApiError::DbUnavailable,
    INVALID_TOKEN = ApiError::InvalidToken,
    INTERNAL = ApiError::Internal,
    SUSPENDED = ApiError::Suspended,
    INVALID_REQUEST = ApiError::InvalidRequest,
    AGENT_MISMATCH = ApiError::AgentMismatch,
    NOT_ON_BREAK = ApiError::NotOnBreak,
    SSID_NOT_VALID_FOR_PING = ApiError::PingSsidInvalid,
    NOT_IN_WRAP_UP = ApiError::NotInWrapUp,
    BAD_PING_TIME = ApiError::BadPingTime,
    ALREADY_ON_BREAK = ApiError::AlreadyOnBreak,
    UNKNOWN_REASON = ApiError::UnknownReason,
    CANNOT_END_EARLY = ApiError::CannotEndEarly,
    AGENT_DISABLED = ApiError::AgentDisabled,
    ALREADY_IN_WRAP_UP = ApiError::AlreadyInWrapUp,
    NOT_FOUND = ApiError::NoSuchResource,
    ALREADY_EXISTS = ApiError::AlreadyExists,
    TOO_MANY_STREAMS = ApiError::TooManyStreams,
    THROTTLED = ApiError::Throttled(60),
    OUT_OF_SCOPE = ApiError::OutOfScope,
}

/// The 1505 envelope naming these parameters, e.g. `missing("token,agentId")`.
pub fn missing(names: &str) -> String {
    let names = names.split(',').map(|n| &*n.to_owned().leak()).collect();
    envelope(&ApiError::Missing(names))
}

/// Each code's envelope (codes several errors share have one message).
static BY_CODE: LazyLock<BTreeMap<u16, String>> = LazyLock::new(|| {
    let mut by_code = BTreeMap::new();
    for error in ApiError::every() {
        let envelope = envelope(&error);
        let first = by_code
            .entry(error.code())
            .or_insert_with(|| envelope.clone());
        assert_eq!(*first, envelope, "one message per code");
    }
    by_code
});

/// The exact envelope of a code; None for 1505, whose message names the parameters.
pub fn envelope_of(code: u16) -> Option<&'static str> {
    if code == 1505 {
        return None;
    }
    let envelope = BY_CODE.get(&code);
    Some(envelope.unwrap_or_else(|| panic!("{code} is not a code of the contract")))
}

/// The `code` of an error envelope, or 0 for a success.
pub fn code(answer: &Value) -> u64 {
    match answer["status"].as_str() {
        Some("success") => 0,
        Some("error") => answer["code"].as_u64().expect("error has a code"),
        _ => panic!("not an envelope: {answer}"),
    }
}
