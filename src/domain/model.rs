use serde::Serialize;
use utoipa::ToSchema;

use super::wrap::{WrapMode, WrapPolicy};

/// An account: the upstream `userId`. Its API tokens, agents and break reasons belong to it.
/// Read from columns named so that a row may also hold an agent's (see the store's
/// `ACCOUNT_COLUMNS`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    #[sqlx(rename = "account_pk")]
    pub id: i64,
    pub user_id: String,
    #[sqlx(rename = "account_name")]
    pub name: String,
    pub suspended: bool,
    /// The account's wrap-up policy (agents may override it).
    #[sqlx(rename = "account_wrap_seconds")]
    pub wrap_seconds: i64,
    #[sqlx(rename = "account_wrap_mode")]
    pub wrap_mode: WrapMode,
    /// The IANA time zone its reports' days and weeks follow.
    #[sqlx(rename = "account_time_zone")]
    pub time_zone: String,
}

impl Account {
    pub fn wrap_policy(&self) -> WrapPolicy {
        WrapPolicy {
            seconds: self.wrap_seconds,
            mode: self.wrap_mode,
        }
    }
}

/// An agent of an account; `agent_id` is the upstream `agentId`, unique per account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Agent {
    pub id: i64,
    pub account_pk: i64,
    pub agent_id: String,
    pub name: String,
    /// Overrides of the account's wrap-up policy (None: the account's applies).
    pub wrap_seconds: Option<i64>,
    pub wrap_mode: Option<WrapMode>,
    pub disabled: bool,
}

impl Agent {
    /// The agent's overrides on top of the account's policy.
    pub fn wrap_policy(&self, account: &Account) -> WrapPolicy {
        let base = account.wrap_policy();
        WrapPolicy {
            seconds: self.wrap_seconds.unwrap_or(base.seconds),
            mode: self.wrap_mode.unwrap_or(base.mode),
        }
    }
}

/// A reason an agent may go on break, from the account's list.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct BreakReason {
    #[serde(skip)]
    pub id: i64,
    pub code: String,
    pub label: String,
    /// Seconds after which the break is flagged over its limit (it goes on).
    pub limit_seconds: Option<i64>,
    /// Inactive reasons stay in the history but cannot start new breaks.
    pub active: bool,
}

/// What a new account starts with: (code, label, limit in seconds).
pub fn default_break_reasons() -> [(&'static str, &'static str, Option<i64>); 5] {
    [
        ("break", "Break", Some(15 * 60)),
        ("lunch", "Lunch", Some(60 * 60)),
        ("personal", "Personal", Some(10 * 60)),
        ("meeting", "Meeting", None),
        ("training", "Training", None),
    ]
}

/// An agent's login session (the upstream `ssid`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    #[sqlx(rename = "session_id")]
    pub id: i64,
    pub agent_pk: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl Session {
    /// Live while not logged out, before its absolute expiry, and seen within the idle timeout.
    pub fn is_live(&self, now: i64, idle_timeout_secs: i64) -> bool {
        self.ended_at.is_none()
            && now < self.expires_at
            && now < self.last_seen_at + idle_timeout_secs
    }
}

/// A session with the agent and account it belongs to: what an `ssid` resolves to.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub session: Session,
    /// Shared with the live view: an ssid's request copies no agent or account.
    pub agent: std::sync::Arc<Agent>,
    pub account: std::sync::Arc<Account>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Break {
    pub reason_code: String,
    /// The reason's label.
    pub reason: String,
    pub limit_seconds: Option<i64>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// `breakDetail` of the agentOnBreak answer (our keys; see the README).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakDetail {
    /// The reason's label.
    pub reason: String,
    pub reason_code: String,
    /// Unix seconds when the break started.
    pub break_s_time: i64,
    /// Seconds on break so far.
    pub current_duration: i64,
    /// The reason's limit in seconds, or null.
    pub limit: Option<i64>,
    /// True once `currentDuration` has passed `limit`; the break goes on, a supervisor acts.
    pub over_limit: bool,
}

impl Break {
    pub fn elapsed(&self, now: i64) -> i64 {
        (self.ended_at.unwrap_or(now) - self.started_at).max(0)
    }

    pub fn detail(&self, now: i64) -> BreakDetail {
        let elapsed = self.elapsed(now);
        BreakDetail {
            reason: self.reason.clone(),
            reason_code: self.reason_code.clone(),
            break_s_time: self.started_at,
            current_duration: elapsed,
            limit: self.limit_seconds,
            over_limit: self.limit_seconds.is_some_and(|limit| elapsed > limit),
        }
    }
}

/// After-call work. `ends_at` None means untimed (lasts until ended).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WrapUp {
    pub call_id: String,
    pub customer_number: String,
    pub mode: WrapMode,
    pub started_at: i64,
    pub ends_at: Option<i64>,
    pub ended_at: Option<i64>,
}

impl WrapUp {
    /// Whether the agent may end it before its time (a forced one may not).
    pub fn agent_may_end(&self) -> bool {
        self.mode != WrapMode::Forced
    }

    /// A wrap-up whose time has run out is over, even if nothing closed it yet.
    pub fn is_active(&self, now: i64) -> bool {
        self.ended_at.is_none() && self.ends_at.is_none_or(|end| now < end)
    }

    /// Seconds of wrap-up left (None when untimed).
    pub fn remaining(&self, now: i64) -> Option<i64> {
        self.ends_at.map(|end| (end - now).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(ends_at: Option<i64>, ended_at: Option<i64>) -> WrapUp {
        WrapUp {
            call_id: "c".into(),
            customer_number: "n".into(),
            mode: WrapMode::Timed,
            started_at: 100,
            ends_at,
            ended_at,
        }
    }

    #[test]
    fn timed_wrap_up_is_over_when_its_time_runs_out() {
        let w = wrap(Some(130), None);
        assert!(w.is_active(129));
        assert_eq!(w.remaining(129), Some(1));
        assert!(!w.is_active(130));
        assert!(wrap(None, None).is_active(1_000_000));
        assert!(!wrap(None, Some(120)).is_active(121));
    }

    #[test]
    fn session_expires_when_idle_or_past_its_absolute_expiry() {
        let s = Session {
            id: 1,
            agent_pk: 1,
            last_seen_at: 100,
            expires_at: 1000,
            ended_at: None,
        };
        assert!(s.is_live(159, 60));
        assert!(!s.is_live(160, 60));
        assert!(!s.is_live(1000, 10_000));
        assert!(
            !Session {
                ended_at: Some(101),
                ..s
            }
            .is_live(102, 60)
        );
    }

    #[test]
    fn break_over_limit_is_flagged_not_ended() {
        let b = Break {
            reason_code: "lunch".into(),
            reason: "Lunch".into(),
            limit_seconds: Some(60),
            started_at: 100,
            ended_at: None,
        };
        assert!(!b.detail(160).over_limit);
        let d = b.detail(161);
        assert!(d.over_limit);
        assert_eq!(d.current_duration, 61);
    }
}
