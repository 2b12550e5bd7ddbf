//! The contract's codes and messages, as literals, once: the support crate makes every envelope
//! the other tests expect from the server's own table (`ApiError`), so this is where a changed
//! message or code is caught against the contract (and the OpenAPI tests read it from here).

use crate::support::{ApiError, envelope, missing, named_envelopes};

/// Every error of the table, in its order: (code, message).
const CONTRACT: [(u16, &str); 41] = [
    (1501, "Agent id not match"),
    (1502, "On break is : 0"),
    (1503, "SSID not valid for setWebPingTime"),
    (1504, "Agent not in wrap time"),
    (1505, "Missing required parameters:mic_perm"),
    (
        1506,
        "Cannot update [ping_time] as it is of incompatible type",
    ),
    (1507, "Agent already on break"),
    (1508, "Unknown break reason"),
    (1509, "Wrap-up cannot be ended early"),
    (1510, "Agent disabled"),
    (1511, "Agent already in wrap time"),
    (1512, "Not found"),
    (1513, "Already exists"),
    (1000, "Invalid parameter(s)"),
    (1001, "Invalid data type"),
    (1010, "Error in DB connect"),
    (1014, "Invalid token (expired or invalid)"),
    (1032, "Internal server error"),
    (1032, "Internal server error"),
    (1032, "Internal server error"),
    (1039, "User account suspended"),
    (1514, "Too many streams"),
    (1515, "Too many failed attempts"),
    (1516, "Token scope does not allow this"),
    (1517, "Agent on a call"),
    (1518, "Agent already on a call"),
    (1519, "Agent not on a call"),
    (1520, "Agent not logged in"),
    (1521, "Cannot revoke the token in use"),
    (1522, "Invalid report period"),
    (1523, "Report period too long"),
    (1524, "Report period before retained history"),
    (1525, "Unknown time zone"),
    (1526, "Invalid report option"),
    (1530, "Webhook URL not allowed"),
    (1531, "Webhook URL resolves to a private address"),
    (1532, "Unknown event kind"),
    (1047, "Invalid Request Data"),
    (1047, "Invalid Request Data"),
    (1047, "Invalid Request Data"),
    (1047, "Invalid Request Data"),
];

/// The code of each envelope the tests name.
const NAMED: [(&str, u16); 22] = [
    ("INVALID_PARAMETERS", 1000),
    ("INVALID_DATA_TYPE", 1001),
    ("DB_CONNECT", 1010),
    ("INVALID_TOKEN", 1014),
    ("INTERNAL", 1032),
    ("SUSPENDED", 1039),
    ("INVALID_REQUEST", 1047),
    ("AGENT_MISMATCH", 1501),
    ("NOT_ON_BREAK", 1502),
    ("SSID_NOT_VALID_FOR_PING", 1503),
    ("NOT_IN_WRAP_UP", 1504),
    ("BAD_PING_TIME", 1506),
    ("ALREADY_ON_BREAK", 1507),
    ("UNKNOWN_REASON", 1508),
    ("CANNOT_END_EARLY", 1509),
    ("AGENT_DISABLED", 1510),
    ("ALREADY_IN_WRAP_UP", 1511),
    ("NOT_FOUND", 1512),
    ("ALREADY_EXISTS", 1513),
    ("TOO_MANY_STREAMS", 1514),
    ("THROTTLED", 1515),
    ("OUT_OF_SCOPE", 1516),
];

/// The contract's codes, each with its exact message (1505's without the names that follow it),
/// for the tests that check the documentation against them.
pub fn contract_codes() -> Vec<(u64, &'static str)> {
    let mut codes: Vec<(u64, &str)> = Vec::new();
    for (code, message) in CONTRACT {
        let message = message.trim_end_matches("mic_perm");
        if !codes.iter().any(|(c, _)| *c == u64::from(code)) {
            codes.push((code.into(), message));
        }
    }
    codes
}

/// The envelope, byte for byte.
fn literal(code: u16, message: &str) -> String {
    format!(r#"{{"status":"error","message":"{message}","code":{code}}}"#)
}

#[test]
fn every_error_answers_the_contracts_code_and_message() {
    let made: Vec<(u16, String)> = ApiError::every()
        .iter()
        .map(|e| (e.code(), envelope(e)))
        .collect();
    let written: Vec<(u16, String)> = CONTRACT.iter().map(|(c, m)| (*c, literal(*c, m))).collect();
    assert_eq!(made, written);
    // The names the tests use are the contract's envelopes of their codes.
    let named: Vec<(&str, String)> = NAMED
        .iter()
        .map(|(name, code)| {
            let (_, message) = CONTRACT.iter().find(|(c, _)| c == code).unwrap();
            (*name, literal(*code, message))
        })
        .collect();
    let made: Vec<(&str, String)> = named_envelopes()
        .into_iter()
        .map(|(name, made)| (name, made.to_owned()))
        .collect();
    assert_eq!(made, named);
    assert_eq!(
        missing("token,agentId"),
        r#"{"status":"error","message":"Missing required parameters:token,agentId","code":1505}"#
    );
}
