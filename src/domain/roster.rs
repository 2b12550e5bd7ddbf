//! What a supervisor sees of an agent at a glance: its state, presence, and roster entry.

use serde::Serialize;
use utoipa::ToSchema;

use super::text_enum::text_enum;
use super::{Agent, Break, Call, MicPerm, RosterCall, WrapMode, WrapUp};

text_enum! {
    /// An agent's state, the most telling first: disabled, then on a call, then on break,
    /// then in wrap-up, then logged in (available), else offline.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AgentState ("agent state") {
        Disabled = "disabled", OnCall = "on_call", OnBreak = "on_break", WrapUp = "wrap_up",
        Available = "available", Offline = "offline",
    }
}

/// What an agent has open, as the roster reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occupied {
    pub disabled: bool,
    pub on_call: bool,
    pub on_break: bool,
    pub in_wrap_up: bool,
    pub logged_in: bool,
}

impl AgentState {
    /// The most telling state. A call outranks a break (a break cannot start during a call;
    /// a call may start during one only by ending it) and a wrap-up (a call ends it).
    pub fn of(o: Occupied) -> AgentState {
        let Occupied {
            disabled,
            on_call,
            on_break,
            in_wrap_up,
            logged_in,
        } = o;
        if disabled {
            AgentState::Disabled
        } else if on_call {
            AgentState::OnCall
        } else if on_break {
            AgentState::OnBreak
        } else if in_wrap_up {
            AgentState::WrapUp
        } else if logged_in {
            AgentState::Available
        } else {
            AgentState::Offline
        }
    }
}

text_enum! {
    /// Whether the agent's browser is there, judged by the server's receive times of its
    /// heartbeats (and of the login): `online` while they keep coming, `stale` when they
    /// have paused (a background tab's throttled timers), `offline` once they have stopped
    /// or no session is live.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Presence ("presence") {
        Online = "online", Stale = "stale", Offline = "offline",
    }
}

/// The two presence thresholds, in seconds since the last sign of life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceRule {
    pub stale_secs: i64,
    pub offline_secs: i64,
}

impl PresenceRule {
    /// The presence at `now` of an agent last seen at `seen` on a live session (None: no
    /// live session). The SQL of the sweeper states the same rule.
    pub fn at(&self, seen: Option<i64>, now: i64) -> Presence {
        match seen {
            Some(seen) if now - seen < self.stale_secs => Presence::Online,
            Some(seen) if now - seen < self.offline_secs => Presence::Stale,
            _ => Presence::Offline,
        }
    }

    /// When an agent last seen at `seen` crossed into `presence` (never after `now`).
    pub fn crossed_at(&self, presence: Presence, seen: Option<i64>, now: i64) -> i64 {
        match (presence, seen) {
            (Presence::Online, Some(seen)) => seen.min(now),
            (Presence::Stale, Some(seen)) => (seen + self.stale_secs).min(now),
            (Presence::Offline, Some(seen)) => (seen + self.offline_secs).min(now),
            _ => now,
        }
    }
}

/// One agent's state as the store reads it for the roster.
#[derive(Debug, Clone)]
pub struct RosterLine {
    pub agent: Agent,
    pub live_sessions: i64,
    /// The newest sign of life (a ping or the login) of a live session.
    pub seen: Option<i64>,
    pub last_ping_at: Option<i64>,
    pub mic_perm: Option<MicPerm>,
    pub on_break: Option<Break>,
    pub wrap_up: Option<WrapUp>,
    pub call: Option<Call>,
    /// The id of the agent's newest event when the line was read (0: none).
    pub last_event_id: i64,
    /// When the agent's newest change of state (not of presence or microphone) was recorded.
    pub last_change_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    pub agent_id: String,
    pub name: String,
    pub state: AgentState,
    pub logged_in: bool,
    pub disabled: bool,
    #[serde(rename = "break")]
    pub on_break: Option<RosterBreak>,
    pub wrap_up: Option<RosterWrap>,
    /// The call the agent is on (state `on_call`); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<RosterCall>,
    /// Unix seconds since when the agent is in `state`: the call's, break's or wrap-up's start, else
    /// the newest recorded change of state (login, logout, an end, a disable); null if none.
    pub state_since: Option<i64>,
    /// Server time of the last ping, and the microphone permission it reported.
    pub last_ping_at: Option<i64>,
    /// `granted`, `denied` or `prompt`, or null before the first ping.
    #[schema(value_type = Option<String>)]
    pub mic_perm: Option<&'static str>,
    /// `online`, `stale` or `offline`, by the presence thresholds.
    pub presence: Presence,
    /// The id of the agent's newest history event when this entry was read (0: none): of two
    /// entries of one agent, the one with the larger id is the newer.
    pub last_event_id: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterBreak {
    pub reason_code: String,
    /// The reason's label.
    pub reason: String,
    /// Unix seconds.
    pub since: i64,
    /// Seconds in this state.
    pub elapsed: i64,
    /// The reason's limit in seconds, or null.
    pub limit: Option<i64>,
    pub over_limit: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RosterWrap {
    pub call_id: String,
    /// The customer's number.
    pub c_number: String,
    pub mode: WrapMode,
    /// Unix seconds.
    pub since: i64,
    /// Unix seconds when it ends (null when untimed).
    pub wrap_e_time: Option<i64>,
    /// Seconds left (null when untimed).
    pub remaining: Option<i64>,
}

impl RosterEntry {
    /// The line as the domain's rules read it at `now`.
    pub fn new(line: RosterLine, now: i64, presence: PresenceRule) -> RosterEntry {
        let on_break = line.on_break.map(|b| {
            let detail = b.detail(now);
            RosterBreak {
                reason_code: detail.reason_code,
                reason: detail.reason,
                since: detail.break_s_time,
                elapsed: detail.current_duration,
                limit: detail.limit,
                over_limit: detail.over_limit,
            }
        });
        let wrap_up = line.wrap_up.map(|w| RosterWrap {
            remaining: w.remaining(now),
            call_id: w.call_id,
            c_number: w.customer_number,
            mode: w.mode,
            since: w.started_at,
            wrap_e_time: w.ends_at,
        });
        let call = line.call.map(|c| RosterCall::new(c, now));
        let logged_in = line.live_sessions > 0;
        let state_since = match (&call, &on_break, &wrap_up) {
            (Some(c), _, _) => Some(c.since),
            (None, Some(b), _) => Some(b.since),
            (None, None, Some(w)) => Some(w.since),
            (None, None, None) => line.last_change_at,
        };
        RosterEntry {
            state: AgentState::of(Occupied {
                disabled: line.agent.disabled,
                on_call: call.is_some(),
                on_break: on_break.is_some(),
                in_wrap_up: wrap_up.is_some(),
                logged_in,
            }),
            agent_id: line.agent.agent_id,
            name: line.agent.name,
            logged_in,
            disabled: line.agent.disabled,
            on_break,
            wrap_up,
            call,
            state_since,
            last_ping_at: line.last_ping_at,
            mic_perm: line.mic_perm.map(MicPerm::as_str),
            presence: presence.at(line.seen.filter(|_| logged_in), now),
            last_event_id: line.last_event_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{AgentState, Occupied, Presence, PresenceRule};

    #[test]
    fn the_most_telling_state_wins() {
        let all = Occupied {
            disabled: true,
            on_call: true,
            on_break: true,
            in_wrap_up: true,
            logged_in: true,
        };
        assert_eq!(AgentState::of(all), AgentState::Disabled);
        let o = Occupied {
            disabled: false,
            ..all
        };
        assert_eq!(AgentState::of(o), AgentState::OnCall);
        let o = Occupied {
            on_call: false,
            ..o
        };
        assert_eq!(AgentState::of(o), AgentState::OnBreak);
        assert_eq!(AgentState::of(Occupied::default()), AgentState::Offline);
    }

    const RULE: PresenceRule = PresenceRule {
        stale_secs: 90,
        offline_secs: 300,
    };

    #[test]
    fn presence_by_the_thresholds() {
        assert_eq!(RULE.at(Some(1000), 1000), Presence::Online);
        assert_eq!(RULE.at(Some(1000), 1089), Presence::Online);
        assert_eq!(RULE.at(Some(1000), 1090), Presence::Stale);
        assert_eq!(RULE.at(Some(1000), 1299), Presence::Stale);
        assert_eq!(RULE.at(Some(1000), 1300), Presence::Offline);
        assert_eq!(RULE.at(None, 1000), Presence::Offline);
    }

    #[test]
    fn crossings_are_dated_at_the_threshold() {
        assert_eq!(RULE.crossed_at(Presence::Stale, Some(1000), 2000), 1090);
        assert_eq!(RULE.crossed_at(Presence::Offline, Some(1000), 2000), 1300);
        assert_eq!(RULE.crossed_at(Presence::Offline, None, 2000), 2000);
        assert_eq!(RULE.crossed_at(Presence::Online, Some(1000), 1001), 1000);
    }
}
