//! Notification tags: what the upstream `tags` route answers (e.g. a missed call), and the
//! rule of its time window.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The default window of a `tags` fetch, and the widest: the last 24 hours.
pub const TAGS_WINDOW_SECS: i64 = 24 * 3600;
/// Most tags one fetch answers (the newest of its window).
pub const TAGS_PER_FETCH: i64 = 200;
/// Longest `title`, `text` and `icon`, in characters; longest `callId`, `cNumber`, `url`.
pub const TAG_TITLE_MAX: usize = 120;
pub const TAG_TEXT_MAX: usize = 1000;
pub const TAG_ICON_MAX: usize = 64;
pub const TAG_ID_MAX: usize = 128;
pub const TAG_URL_MAX: usize = 2048;

/// What the frontend may do with a tag: call the customer back, or open a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TagAction {
    /// Call back: the call it is about, and the customer's number (when known).
    Callback {
        #[serde(rename = "callId")]
        call_id: String,
        #[serde(rename = "cNumber")]
        c_number: Option<String>,
    },
    /// Open this http(s) address.
    Url { url: String },
}

/// One notification tag of an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tag {
    pub id: i64,
    /// Unix seconds when it was created.
    pub at: i64,
    pub title: String,
    pub text: Option<String>,
    /// A short icon name for the frontend, e.g. `missed_call`.
    pub icon: Option<String>,
    pub action: Option<TagAction>,
    /// Whether a `tags` fetch returned it before (the answer that first returns it says
    /// false, then marks it read).
    pub read: bool,
}

/// Where a fetch's window starts (its end is `now`): with `ref`, at the agent's previous
/// fetch, never further back than the last 24 hours; without, the last 24 hours.
pub fn tags_window_start(since_previous: bool, previous: Option<i64>, now: i64) -> i64 {
    let day = now - TAGS_WINDOW_SECS;
    match previous {
        Some(previous) if since_previous => previous.clamp(day, now),
        _ => day,
    }
}

/// Whether `url` is an absolute http(s) address with a host.
pub fn is_web_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_narrows_the_day_to_the_previous_fetch() {
        let now = 1_000_000;
        assert_eq!(tags_window_start(false, Some(now - 10), now), now - 86400);
        assert_eq!(tags_window_start(true, None, now), now - 86400);
        assert_eq!(tags_window_start(true, Some(now - 10), now), now - 10);
        assert_eq!(tags_window_start(true, Some(now - 90000), now), now - 86400);
        assert_eq!(tags_window_start(true, Some(now + 5), now), now);
    }

    #[test]
    fn actions_keep_their_wire_form() {
        let call = TagAction::Callback {
            call_id: "c-1".into(),
            c_number: Some("+1".into()),
        };
        let text = serde_json::to_string(&call).unwrap();
        assert_eq!(text, r#"{"type":"callback","callId":"c-1","cNumber":"+1"}"#);
        assert_eq!(serde_json::from_str::<TagAction>(&text).unwrap(), call);
        let url = TagAction::Url {
            url: "https://x.example/a".into(),
        };
        assert_eq!(
            serde_json::to_string(&url).unwrap(),
            r#"{"type":"url","url":"https://x.example/a"}"#
        );
        assert!(is_web_url("https://x.example/a?b=1"));
        for bad in ["ftp://x", "javascript:alert(1)", "/relative", "http://", ""] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }
}
