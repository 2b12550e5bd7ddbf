//! Calls: the agent is on a call from its answer until it ends, then in wrap-up by policy.

use serde::Serialize;
use utoipa::ToSchema;

use super::text_enum::text_enum;
use super::{WrapMode, WrapPolicy, WrapUp};

text_enum! {
    /// Who placed the call: the customer (`inbound`) or the agent (`outbound`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum CallDirection ("call direction") {
        Inbound = "inbound", Outbound = "outbound",
    }
}

text_enum! {
    /// How a call ended: `how` in its `call.end`. `completed`: it was answered and ended
    /// (wrap-up follows by policy); `missed`: not answered or rejected (no wrap-up);
    /// `disabled`: the agent was disabled during it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum CallOutcome ("call outcome") {
        Completed = "completed", Missed = "missed", Disabled = "disabled",
    }
}

/// A call the agent is on (or was on, once `ended_at` is set).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Call {
    pub call_id: String,
    pub customer_number: String,
    pub direction: CallDirection,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub outcome: Option<CallOutcome>,
}

impl Call {
    /// Seconds on the call at `now` (its whole length once it ended).
    pub fn duration(&self, now: i64) -> i64 {
        (self.ended_at.unwrap_or(now) - self.started_at).max(0)
    }
}

/// A call that starts: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    pub call_id: String,
    pub customer_number: String,
    pub direction: CallDirection,
}

/// How a call may start: `force` ends a break first; the agent needs a session seen since
/// `live_since` (neither ended nor expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStart {
    pub force: bool,
    pub live_since: i64,
}

/// The wrap-up that follows a completed call, by the agent's policy (it takes the call's id
/// and number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapAfterCall {
    pub mode: WrapMode,
    pub ends_at: Option<i64>,
}

impl WrapAfterCall {
    /// The wrap-up a completed call at `now` is followed by under `policy`: None when a
    /// timed or forced policy lasts 0 seconds (straight back to available); an untimed one
    /// always follows.
    pub fn by_policy(policy: WrapPolicy, now: i64) -> Option<WrapAfterCall> {
        if policy.mode != WrapMode::Untimed && policy.seconds == 0 {
            return None;
        }
        Some(WrapAfterCall {
            mode: policy.mode,
            ends_at: policy.ends_at(now, None),
        })
    }
}

/// A call that ended, how, and the wrap-up that followed it (None: straight to available).
#[derive(Debug, Clone)]
pub struct EndedCall {
    pub call: Call,
    pub outcome: CallOutcome,
    pub wrap_up: Option<WrapUp>,
}

/// The call an agent is on, in the roster.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterCall {
    pub call_id: String,
    /// The customer's number.
    pub c_number: String,
    pub direction: CallDirection,
    /// Unix seconds when it was answered.
    pub since: i64,
    /// Seconds on the call.
    pub elapsed: i64,
}

impl RosterCall {
    pub fn new(call: Call, now: i64) -> RosterCall {
        RosterCall {
            elapsed: call.duration(now),
            call_id: call.call_id,
            c_number: call.customer_number,
            direction: call.direction,
            since: call.started_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_durations() {
        assert_eq!("outbound".parse(), Ok(CallDirection::Outbound));
        assert!("sideways".parse::<CallDirection>().is_err());
        assert_eq!(CallOutcome::Missed.as_str(), "missed");
        let mut call = Call {
            call_id: "c".into(),
            customer_number: "+1".into(),
            direction: CallDirection::Inbound,
            started_at: 100,
            ended_at: None,
            outcome: None,
        };
        assert_eq!(call.duration(130), 30);
        call.ended_at = Some(110);
        assert_eq!(call.duration(130), 10);
        assert_eq!(call.duration(50), 10);
    }

    #[test]
    fn call_events_keep_their_wire_form() {
        use crate::domain::{EventDetails, EventKind};
        let text = |d: EventDetails| d.to_json().to_string();
        let start = EventDetails::CallStart {
            call_id: "c-1".into(),
            customer_number: "+1".into(),
            direction: CallDirection::Outbound,
        };
        assert_eq!(start.kind(), EventKind::CallStart);
        assert!(start.kind().changes_state());
        assert_eq!(
            text(start),
            r#"{"cNumber":"+1","callId":"c-1","direction":"outbound"}"#
        );
        let end = EventDetails::CallEnd {
            call_id: "c-1".into(),
            duration: 42,
            how: CallOutcome::Missed,
        };
        assert_eq!(end.kind(), EventKind::CallEnd);
        assert_eq!(
            text(end),
            r#"{"callId":"c-1","duration":42,"how":"missed"}"#
        );
    }

    #[test]
    fn wrap_up_after_a_call_by_policy() {
        let policy = |seconds, mode| WrapPolicy { seconds, mode };
        assert_eq!(
            WrapAfterCall::by_policy(policy(30, WrapMode::Forced), 100),
            Some(WrapAfterCall {
                mode: WrapMode::Forced,
                ends_at: Some(130)
            })
        );
        assert_eq!(
            WrapAfterCall::by_policy(policy(0, WrapMode::Timed), 100),
            None
        );
        assert_eq!(
            WrapAfterCall::by_policy(policy(0, WrapMode::Untimed), 100),
            Some(WrapAfterCall {
                mode: WrapMode::Untimed,
                ends_at: None
            })
        );
    }
}
