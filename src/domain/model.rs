use serde::Serialize;

/// An account: the upstream `userId`. Its API tokens and agents belong to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub user_id: String,
    pub name: String,
    pub suspended: bool,
}

/// An agent of an account; `agent_id` is the upstream `agentId`, unique per account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Agent {
    pub id: i64,
    pub account_pk: i64,
    pub agent_id: String,
    pub name: String,
    /// Default length of a wrap-up started without an explicit length.
    pub wrap_seconds: i64,
}

/// An agent's login session (the upstream `ssid`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id: i64,
    pub agent_pk: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

impl Session {
    /// Live while not logged out, before its absolute expiry, and seen within the idle timeout.
    pub fn is_live(&self, now: i64, idle_timeout_secs: i64) -> bool {
        self.ended_at.is_none() && now < self.expires_at && now < self.last_seen_at + idle_timeout_secs
    }
}

/// A session with the agent and account it belongs to: what an `ssid` resolves to.
#[derive(Debug, Clone)]
pub struct SessionContext {
    pub session: Session,
    pub agent: Agent,
    pub account: Account,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Break {
    pub reason: String,
    pub limit_seconds: Option<i64>,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// `breakDetail` of the agentOnBreak answer (our keys; see the README).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakDetail {
    pub reason: String,
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
    pub started_at: i64,
    pub ends_at: Option<i64>,
    pub ended_at: Option<i64>,
}

impl WrapUp {
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
        assert!(!Session { ended_at: Some(101), ..s }.is_live(102, 60));
    }

    #[test]
    fn break_over_limit_is_flagged_not_ended() {
        let b = Break {
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
