//! Agents, sessions, breaks, wrap-ups, presence and history: the types and the pure rules (no I/O).

mod actor;
mod call;
mod event;
mod input;
mod model;
mod ping;
mod report;
mod report_csv;
mod report_row;
mod report_time;
mod roster;
mod tag;
pub(crate) mod text_enum;
mod token;
mod webhook;
mod wrap;

pub use actor::{Act, Actor};
pub use call::{
    Call, CallDirection, CallOutcome, CallStart, EndedCall, NewCall, RosterCall, WrapAfterCall,
};
pub use event::{BreakEnding, Ending, Event, EventDetails, EventKind};
pub use input::{
    AccountToken, AgentPage, AgentUpdate, EventQuery, NewAccount, NewAgent, NewReason, NewSession,
    NewTag, NewTicket, NewToken, NewWrapUp, Ping, ReasonUpdate, RosterQuery,
};
pub use model::{
    Account, Agent, Break, BreakDetail, BreakReason, Session, SessionContext, WrapUp,
    default_break_reasons,
};
pub use ping::{MicPerm, parse_ping_time};
pub use report::{
    Change, Open, OpenBreak, ReportState, STATE_KINDS, StateCounts as ReportCounts, StateSeconds,
    Tally, walk,
};
pub use report_csv::{CSV_COLUMNS, to_csv};
pub use report_row::ReportRow;
pub use report_time::{
    Bucket, bucket_count, bucket_start, day_around, next_day, parse_time, time_zone, windows,
};
pub use roster::{
    AgentState, Occupied, Presence, PresenceRule, RosterBreak, RosterEntry, RosterLine, RosterWrap,
};
pub use tag::{
    TAG_ICON_MAX, TAG_ID_MAX, TAG_TEXT_MAX, TAG_TITLE_MAX, TAG_URL_MAX, TAGS_PER_FETCH,
    TAGS_WINDOW_SECS, Tag, TagAction, is_web_url, tags_window_start,
};
pub use text_enum::UnknownName;
pub use token::{Scope, Token};
pub use webhook::{
    DeliveryAttempt, NewWebhook, SECRET_OVERLAP_SECS, WEBHOOK_DESCRIPTION_MAX, WEBHOOK_FILTERS_MAX,
    WEBHOOK_URL_MAX, Webhook, WebhookTarget, WebhookUpdate, hears, is_known_filter, is_private_ip,
    retry_delay_ms,
};
pub use wrap::{WrapMode, WrapPolicy};

/// Current time as Unix seconds. Every rule takes `now` as a parameter, so it is testable
/// and the server's clock, never the database's or the client's, is the one that counts.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
