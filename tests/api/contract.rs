//! The contract's codes and messages, as literals, once: the support crate makes every envelope
//! the other tests expect from the server's own table (`ApiError`), so this is where a changed
//! message or code is caught against the contract.

use crate::support::{ApiError, envelope, missing, named_envelopes};

/// Every error of the table, in its order: (code, exact envelope).
const CONTRACT: [(u16, &str); 28] = [
    (
        1501,
        r#"{"status":"error","message":"Agent id not match","code":1501}"#,
    ),
    (
        1502,
        r#"{"status":"error","message":"On break is : 0","code":1502}"#,
    ),
    (
        1503,
        r#"{"status":"error","message":"SSID not valid for setWebPingTime","code":1503}"#,
    ),
    (
        1504,
        r#"{"status":"error","message":"Agent not in wrap time","code":1504}"#,
    ),
    (
        1505,
        r#"{"status":"error","message":"Missing required parameters:mic_perm","code":1505}"#,
    ),
    (
        1506,
        r#"{"status":"error","message":"Cannot update [ping_time] as it is of incompatible type","code":1506}"#,
    ),
    (
        1507,
        r#"{"status":"error","message":"Agent already on break","code":1507}"#,
    ),
    (
        1508,
        r#"{"status":"error","message":"Unknown break reason","code":1508}"#,
    ),
    (
        1509,
        r#"{"status":"error","message":"Wrap-up cannot be ended early","code":1509}"#,
    ),
    (
        1510,
        r#"{"status":"error","message":"Agent disabled","code":1510}"#,
    ),
    (
        1511,
        r#"{"status":"error","message":"Agent already in wrap time","code":1511}"#,
    ),
    (
        1512,
        r#"{"status":"error","message":"Not found","code":1512}"#,
    ),
    (
        1513,
        r#"{"status":"error","message":"Already exists","code":1513}"#,
    ),
    (
        1000,
        r#"{"status":"error","message":"Invalid parameter(s)","code":1000}"#,
    ),
    (
        1001,
        r#"{"status":"error","message":"Invalid data type","code":1001}"#,
    ),
    (
        1010,
        r#"{"status":"error","message":"Error in DB connect","code":1010}"#,
    ),
    (
        1014,
        r#"{"status":"error","message":"Invalid token (expired or invalid)","code":1014}"#,
    ),
    (
        1032,
        r#"{"status":"error","message":"Internal server error","code":1032}"#,
    ),
    (
        1032,
        r#"{"status":"error","message":"Internal server error","code":1032}"#,
    ),
    (
        1032,
        r#"{"status":"error","message":"Internal server error","code":1032}"#,
    ),
    (
        1039,
        r#"{"status":"error","message":"User account suspended","code":1039}"#,
    ),
    (
        1514,
        r#"{"status":"error","message":"Too many streams","code":1514}"#,
    ),
    (
        1515,
        r#"{"status":"error","message":"Too many failed attempts","code":1515}"#,
    ),
    (
        1516,
        r#"{"status":"error","message":"Token scope does not allow this","code":1516}"#,
    ),
    (
        1047,
        r#"{"status":"error","message":"Invalid Request Data","code":1047}"#,
    ),
    (
        1047,
        r#"{"status":"error","message":"Invalid Request Data","code":1047}"#,
    ),
    (
        1047,
        r#"{"status":"error","message":"Invalid Request Data","code":1047}"#,
    ),
    (
        1047,
        r#"{"status":"error","message":"Invalid Request Data","code":1047}"#,
    ),
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

#[test]
fn every_error_answers_the_contracts_code_and_message() {
    let made: Vec<(u16, String)> = ApiError::every()
        .iter()
        .map(|e| (e.code(), envelope(e)))
        .collect();
    let literal: Vec<(u16, String)> = CONTRACT.iter().map(|(c, e)| (*c, e.to_string())).collect();
    assert_eq!(made, literal);
    // The names the tests use are the contract's envelopes of their codes.
    let named: Vec<(&str, &str)> = NAMED
        .iter()
        .map(|(name, code)| (*name, CONTRACT.iter().find(|(c, _)| c == code).unwrap().1))
        .collect();
    assert_eq!(named_envelopes(), named);
    assert_eq!(
        missing("token,agentId"),
        r#"{"status":"error","message":"Missing required parameters:token,agentId","code":1505}"#
    );
}
