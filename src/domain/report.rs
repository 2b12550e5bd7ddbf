//! Time in state: the walk over an agent's history that reports are made of (no I/O).
//!
//! An agent's state at each instant is the first that holds, as the roster says it:
//! `on_call`, `on_break`, `wrap_up`, `available` (a live session), else `logged_out` (a
//! disabled agent has nothing open). A state runs from its start event to its end event, or
//! to what ends it without one: a session's `expiresAt`, a wrap-up's `endsAt`, a disable.
//! The walk starts from what was open at the period's start (read from the state tables,
//! see `store::reports`) and moves from one instant where something changes to the next, so
//! its cost is the number of events and buckets, not of seconds.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One change of an agent's state, read from a history event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Login {
        session: i64,
        expires_at: i64,
    },
    /// `None`: every session (a logout of the agent, or its disabling).
    Logout {
        session: Option<i64>,
    },
    BreakStart {
        reason_code: String,
        limit: Option<i64>,
    },
    BreakEnd,
    WrapStart {
        ends_at: Option<i64>,
    },
    WrapEnd,
    CallStart,
    CallEnd,
    /// Ends whatever is open (its own `logout`, `*.end` events follow it too).
    Disabled,
}

impl Change {
    /// Whether [`Change::read`] reads anything of this kind's details (most events are the
    /// ends, whose details a report does not need: their JSON is not parsed).
    pub fn needs_details(kind: &str) -> bool {
        matches!(kind, "login" | "logout" | "break.start" | "wrap.start")
    }

    /// The change an event of this kind and details makes; None for the kinds that change no
    /// state (presence, microphone, tags) and for details that do not read.
    pub fn read(kind: &str, details: &Value) -> Option<Change> {
        let int = |key: &str| details.get(key).and_then(Value::as_i64);
        Some(match kind {
            "login" => Change::Login {
                session: int("session")?,
                expires_at: int("expiresAt")?,
            },
            "logout" => Change::Logout {
                session: int("session"),
            },
            "break.start" => Change::BreakStart {
                reason_code: details.get("reasonCode")?.as_str()?.to_owned(),
                limit: int("limit"),
            },
            "break.end" => Change::BreakEnd,
            "wrap.start" => Change::WrapStart {
                ends_at: int("endsAt"),
            },
            "wrap.end" => Change::WrapEnd,
            "call.start" => Change::CallStart,
            "call.end" => Change::CallEnd,
            "agent.disabled" => Change::Disabled,
            _ => return None,
        })
    }
}

/// The event kinds [`Change::read`] reads: the only ones a report needs.
pub const STATE_KINDS: [&str; 9] = [
    "login",
    "logout",
    "break.start",
    "break.end",
    "wrap.start",
    "wrap.end",
    "call.start",
    "call.end",
    "agent.disabled",
];

/// A break open at some instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenBreak {
    pub reason_code: String,
    pub limit: Option<i64>,
    pub started_at: i64,
}

impl OpenBreak {
    /// When it goes over its limit (its length passes the limit after this instant).
    fn crossing(&self) -> Option<i64> {
        self.limit
            .map(|limit| self.started_at.saturating_add(limit))
    }
}

/// What an agent had open at an instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Open {
    /// Live sessions: (session id, expires at).
    pub sessions: Vec<(i64, i64)>,
    pub on_break: Option<OpenBreak>,
    pub on_call: bool,
    /// A wrap-up, and when it runs out (None: untimed).
    pub wrap: Option<Option<i64>>,
}

/// The states a report adds time to, in the precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    OnCall,
    OnBreak,
    WrapUp,
    Available,
    LoggedOut,
}

impl Open {
    pub fn state(&self) -> ReportState {
        if self.on_call {
            ReportState::OnCall
        } else if self.on_break.is_some() {
            ReportState::OnBreak
        } else if self.wrap.is_some() {
            ReportState::WrapUp
        } else if !self.sessions.is_empty() {
            ReportState::Available
        } else {
            ReportState::LoggedOut
        }
    }

    /// Ends what runs out by `t`: sessions past their expiry, a wrap-up past its end.
    fn expire(&mut self, t: i64) {
        self.sessions.retain(|&(_, expires_at)| expires_at > t);
        if matches!(self.wrap, Some(Some(ends_at)) if ends_at <= t) {
            self.wrap = None;
        }
    }

    /// The next instant after `t` where something runs out or a break crosses its limit.
    fn next_deadline(&self, t: i64) -> Option<i64> {
        let sessions = self.sessions.iter().map(|&(_, e)| e);
        let wrap = self.wrap.flatten();
        let crossing = self.on_break.as_ref().and_then(OpenBreak::crossing);
        sessions
            .chain(wrap)
            .chain(crossing)
            .filter(|&d| d > t)
            .min()
    }
}

/// Seconds per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StateSeconds {
    pub available: i64,
    pub on_call: i64,
    pub wrap_up: i64,
    pub on_break: i64,
    pub logged_out: i64,
}

impl StateSeconds {
    fn add(&mut self, state: ReportState, seconds: i64) {
        *match state {
            ReportState::Available => &mut self.available,
            ReportState::OnCall => &mut self.on_call,
            ReportState::WrapUp => &mut self.wrap_up,
            ReportState::OnBreak => &mut self.on_break,
            ReportState::LoggedOut => &mut self.logged_out,
        } += seconds;
    }
}

/// Starts in the row's window (a break that crossed its limit: counted where it crossed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateCounts {
    pub breaks: i64,
    pub calls: i64,
    pub wrap_ups: i64,
    pub over_limit_breaks: i64,
}

/// What one agent did in one window (a bucket, or the whole period).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub seconds: StateSeconds,
    /// Seconds on break by reason code (they add up to `seconds.on_break`).
    pub break_seconds: BTreeMap<String, i64>,
    pub counts: StateCounts,
    /// Seconds on break past the break's limit.
    pub over_limit_seconds: i64,
    /// The longest stretch of one break inside the window.
    pub longest_break: i64,
    /// What composes `longest_break` across adjacent windows ([`Tally::then`]), never shown:
    /// the seconds on break before the window's first break event (`lead`), the stretch
    /// running at its end (`trail`), and whether a break started, ended or was ended by a
    /// disable in it (`reset`).
    pub lead: i64,
    pub trail: i64,
    pub reset: bool,
}

impl Tally {
    /// (on call + wrap-up) / (logged in − on break), to 4 decimals; None when nothing was
    /// logged in but breaks.
    pub fn occupancy(&self) -> Option<f64> {
        let s = &self.seconds;
        let busy = s.on_call + s.wrap_up;
        let worked = busy + s.available;
        (worked > 0).then(|| (busy as f64 / worked as f64 * 10_000.0).round() / 10_000.0)
    }

    /// A window of `seconds` logged out throughout, with nothing in it (what the roll-up
    /// keeps no row for).
    pub fn logged_out(seconds: i64) -> Tally {
        let mut tally = Tally::default();
        tally.seconds.logged_out = seconds;
        tally
    }

    /// This window followed by the adjacent `next`: what one walk over both would answer.
    pub fn then(mut self, next: &Tally) -> Tally {
        let (s, n) = (&mut self.seconds, &next.seconds);
        s.available += n.available;
        s.on_call += n.on_call;
        s.wrap_up += n.wrap_up;
        s.on_break += n.on_break;
        s.logged_out += n.logged_out;
        for (code, seconds) in &next.break_seconds {
            *self.break_seconds.entry(code.clone()).or_default() += seconds;
        }
        let (c, n) = (&mut self.counts, &next.counts);
        c.breaks += n.breaks;
        c.calls += n.calls;
        c.wrap_ups += n.wrap_ups;
        c.over_limit_breaks += n.over_limit_breaks;
        self.over_limit_seconds += next.over_limit_seconds;
        self.longest_break = (self.longest_break)
            .max(next.longest_break)
            .max(self.trail + next.lead);
        if !self.reset {
            self.lead += next.lead;
        }
        self.trail = match next.reset {
            true => next.trail,
            false => self.trail + next.trail,
        };
        self.reset |= next.reset;
        self
    }
}

/// Walks one agent's history: `open` is what it had open at `bounds[0]`, `changes` its
/// changes from then on, by time (and by id within a second); `bounds` the windows' edges,
/// increasing (n + 1 edges for n windows; the last is the end of what is counted). Answers
/// one tally per window.
pub fn walk(open: Open, changes: &[(i64, Change)], bounds: &[i64]) -> Vec<Tally> {
    walk_on(open, changes, bounds).0
}

/// [`walk`], and what was open at the end (after the changes before it; the expiries at
/// the end not yet applied): the next window's start, as the state tables would say it.
pub fn walk_on(mut open: Open, changes: &[(i64, Change)], bounds: &[i64]) -> (Vec<Tally>, Open) {
    let windows = bounds.len().saturating_sub(1);
    let mut tallies = vec![Tally::default(); windows];
    if windows == 0 {
        return (tallies, open);
    }
    let end = bounds[windows];
    let mut next_change = changes
        .iter()
        .skip_while(|(at, _)| *at < bounds[0])
        .peekable();
    let (mut t, mut w) = (bounds[0], 0);
    // The current break's stretch inside the current window.
    let mut run = 0;
    loop {
        if t >= end {
            tallies[w].trail = run;
            return (tallies, open);
        }
        open.expire(t);
        while let Some((_, change)) = next_change.next_if(|(at, _)| *at <= t) {
            apply(&mut open, change, t, &mut tallies[w], &mut run);
        }
        let crossing = open.on_break.as_ref().and_then(OpenBreak::crossing);
        if crossing == Some(t) {
            tallies[w].counts.over_limit_breaks += 1;
        }
        let mut next = bounds[w + 1];
        if let Some((at, _)) = next_change.peek() {
            next = next.min(*at);
        }
        if let Some(deadline) = open.next_deadline(t) {
            next = next.min(deadline);
        }
        let (seconds, tally) = (next - t, &mut tallies[w]);
        let state = open.state();
        tally.seconds.add(state, seconds);
        if let (ReportState::OnBreak, Some(b)) = (state, &open.on_break) {
            *tally
                .break_seconds
                .entry(b.reason_code.clone())
                .or_default() += seconds;
            if crossing.is_some_and(|c| c <= t) {
                tally.over_limit_seconds += seconds;
            }
            run += seconds;
            if !tally.reset {
                tally.lead += seconds;
            }
            tally.longest_break = tally.longest_break.max(run);
        }
        t = next;
        if t == bounds[w + 1] && t < end {
            tallies[w].trail = run;
            w += 1;
            run = 0;
        }
    }
}

fn apply(open: &mut Open, change: &Change, t: i64, tally: &mut Tally, run: &mut i64) {
    let counts = &mut tally.counts;
    if matches!(
        change,
        Change::BreakStart { .. } | Change::BreakEnd | Change::Disabled
    ) {
        tally.reset = true;
    }
    match change {
        Change::Login {
            session,
            expires_at,
        } => {
            if *expires_at > t {
                open.sessions.retain(|(id, _)| id != session);
                open.sessions.push((*session, *expires_at));
            }
        }
        Change::Logout { session: Some(id) } => open.sessions.retain(|(s, _)| s != id),
        Change::Logout { session: None } => open.sessions.clear(),
        Change::BreakStart { reason_code, limit } => {
            counts.breaks += 1;
            *run = 0;
            open.on_break = Some(OpenBreak {
                reason_code: reason_code.clone(),
                limit: *limit,
                started_at: t,
            });
        }
        Change::BreakEnd => {
            *run = 0;
            open.on_break = None;
        }
        Change::WrapStart { ends_at } => {
            counts.wrap_ups += 1;
            open.wrap = Some(*ends_at).filter(|_| ends_at.is_none_or(|e| e > t));
        }
        Change::WrapEnd => open.wrap = None,
        Change::CallStart => {
            counts.calls += 1;
            open.on_call = true;
        }
        Change::CallEnd => open.on_call = false,
        Change::Disabled => {
            *run = 0;
            *open = Open::default();
        }
    }
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
