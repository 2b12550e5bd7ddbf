//! Wrap-up policy: how long after-call work lasts and whether it may be ended early.

use super::text_enum::text_enum;

text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum WrapMode ("wrap-up mode") {
        /// Ends by itself at `wrapETime`; the agent may end it early.
        Timed = "timed",
        /// Ends by itself; cannot be ended early by the agent (a supervisor still can).
        Forced = "forced",
        /// Lasts until ended.
        Untimed = "untimed",
    }
}

/// The policy in force for one agent: the agent's override, else the account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapPolicy {
    pub seconds: i64,
    pub mode: WrapMode,
}

impl WrapPolicy {
    /// When a wrap-up started at `now` ends (None for untimed), given an optional explicit length.
    pub fn ends_at(&self, now: i64, seconds: Option<i64>) -> Option<i64> {
        match self.mode {
            WrapMode::Untimed => None,
            // Saturating: a length near i64::MAX is "practically never", not an overflow.
            WrapMode::Timed | WrapMode::Forced => {
                Some(now.saturating_add(seconds.unwrap_or(self.seconds)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untimed_has_no_end_and_explicit_length_wins() {
        let timed = WrapPolicy {
            seconds: 30,
            mode: WrapMode::Timed,
        };
        assert_eq!(timed.ends_at(100, None), Some(130));
        assert_eq!(timed.ends_at(100, Some(5)), Some(105));
        assert_eq!(timed.ends_at(100, Some(i64::MAX - 1)), Some(i64::MAX));
        let untimed = WrapPolicy {
            mode: WrapMode::Untimed,
            ..timed
        };
        assert_eq!(untimed.ends_at(100, Some(5)), None);
        assert_eq!("forced".parse(), Ok(WrapMode::Forced));
        assert!("x".parse::<WrapMode>().is_err());
    }
}
