use serde_json::Value;

use super::text_enum::text_enum;

text_enum! {
    /// The browser's microphone permission, as reported by `setWebPingTime`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum MicPerm ("microphone permission") {
        Granted = "granted", Denied = "denied", Prompt = "prompt",
    }
}

impl MicPerm {
    /// Accepted: `1`/`0`, `true`/`false`, `"1"`/`"0"`, and the Permissions API states
    /// `"granted"`/`"denied"`/`"prompt"` (any case, surrounding spaces ignored).
    pub fn from_value(value: &Value) -> Option<MicPerm> {
        match value {
            Value::Bool(true) => Some(MicPerm::Granted),
            Value::Bool(false) => Some(MicPerm::Denied),
            Value::Number(n) => match n.as_u64() {
                Some(1) => Some(MicPerm::Granted),
                Some(0) => Some(MicPerm::Denied),
                _ => None,
            },
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "granted" => Some(MicPerm::Granted),
                "0" | "false" | "denied" => Some(MicPerm::Denied),
                "prompt" => Some(MicPerm::Prompt),
                _ => None,
            },
            _ => None,
        }
    }

    /// Upstream's integer form: 1 when the microphone may be used.
    pub fn as_flag(self) -> u8 {
        u8::from(self == MicPerm::Granted)
    }
}

/// Largest value read as seconds; anything above is read as milliseconds.
/// 10^11 seconds is the year 5138, while 10^11 milliseconds is 1973.
const MAX_SECONDS: f64 = 1e11;

/// Reads the client's `ping_time`: Unix seconds or milliseconds, as a number or a numeric
/// string (fractions are truncated, as `Date.now() / 1000` sends them). Returns seconds.
pub fn parse_ping_time(value: &Value) -> Option<i64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !n.is_finite() || !(0.0..MAX_SECONDS * 1000.0).contains(&n) {
        return None;
    }
    let seconds = if n >= MAX_SECONDS { n / 1000.0 } else { n };
    Some(seconds as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mic_perm_accepts_documented_forms_only() {
        for (v, want) in [
            (json!(1), MicPerm::Granted),
            (json!(0), MicPerm::Denied),
            (json!(true), MicPerm::Granted),
            (json!(false), MicPerm::Denied),
            (json!("1"), MicPerm::Granted),
            (json!("0"), MicPerm::Denied),
            (json!("granted"), MicPerm::Granted),
            (json!("DENIED"), MicPerm::Denied),
            (json!("prompt"), MicPerm::Prompt),
        ] {
            assert_eq!(MicPerm::from_value(&v), Some(want), "{v}");
        }
        for v in [
            json!(2),
            json!(-1),
            json!(1.5),
            json!("yes"),
            json!(null),
            json!([1]),
            json!({}),
        ] {
            assert_eq!(MicPerm::from_value(&v), None, "{v}");
        }
    }

    #[test]
    fn ping_time_reads_seconds_and_milliseconds() {
        assert_eq!(parse_ping_time(&json!(1732095311)), Some(1732095311));
        assert_eq!(parse_ping_time(&json!(1732095311123_i64)), Some(1732095311));
        assert_eq!(parse_ping_time(&json!("1732095311")), Some(1732095311));
        assert_eq!(parse_ping_time(&json!(" 1732095311123 ")), Some(1732095311));
        assert_eq!(parse_ping_time(&json!(1732095311.75)), Some(1732095311));
        for v in [
            json!("soon"),
            json!(-5),
            json!(true),
            json!(null),
            json!({}),
            json!("1e400"),
            json!(1e300),
        ] {
            assert_eq!(parse_ping_time(&v), None, "{v}");
        }
    }
}
