//! The one door for every change: each state change and each create/update is one function
//! here, called alike by the upstream routes, the `/v1` handlers, the CLI and the first-run
//! demo. It owns the rules (what may happen, with which values); the store owns the
//! transaction and its history event. Reads the routes need go through here too, so that
//! what answers them can change in one place.

mod accounts;
mod agents;
mod breaks;
mod calls;
mod reasons;
mod reports;
mod rollup;
mod sessions;
mod status;
mod stream;
mod tags;
mod webhooks;
mod wraps;

use std::sync::Arc;

use crate::config::Config;
use crate::domain::Agent;
use crate::live::{LiveAgent, Pings};
use crate::metrics::WebhookMetrics;
use crate::store::{Store, StoreError, StoreOptions};

pub use crate::live::Refusal as StreamRefusal;
pub use accounts::TokenRequest;
pub use calls::CallRequest;
pub use reports::{MAX_PERIOD_DAYS, MAX_REPORT_ROWS, ReportRequest};
pub use rollup::SEAL_MARGIN_SECS;
pub use status::{AccountCounts, AgentCounts, PoolStats, StateCounts, Status};
pub use stream::{EventStream, TICKET_TTL_SECS};
pub use tags::FetchedTags;
pub use webhooks::{ATTEMPTS_LISTED, TestResult, WebhookRequest, WebhookUpdateRequest};
pub use wraps::{EndedBy, WrapRequest};

/// What a credential (ssid, token, stream ticket) turned out to be.
#[derive(Debug)]
pub enum Found<T> {
    /// It authenticates.
    Valid(T),
    /// It was real but no longer works (ended, revoked, expired): a stale client.
    Stale,
    /// It was never issued: a guess.
    Unknown,
}

impl<T> Found<T> {
    pub fn valid(self) -> Option<T> {
        match self {
            Found::Valid(found) => Some(found),
            Found::Stale | Found::Unknown => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Found<U> {
        match self {
            Found::Valid(found) => Found::Valid(f(found)),
            Found::Stale => Found::Stale,
            Found::Unknown => Found::Unknown,
        }
    }

    pub fn is_guess(&self) -> bool {
        matches!(self, Found::Unknown)
    }
}

/// Refusals, in words that read after the thing's name (`agent "7" is already on break`).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such account, agent, reason or open session (the caller names which).
    #[error("not found")]
    NotFound,
    /// The id or code is taken.
    #[error("already exists")]
    AlreadyExists,
    #[error("is already on break")]
    AlreadyOnBreak,
    #[error("is not on break")]
    NotOnBreak,
    #[error("cannot go on break for {0:?}: not an active break reason of the account")]
    UnknownReason(String),
    #[error("is already in wrap-up")]
    AlreadyInWrapUp,
    #[error("is not in wrap-up")]
    NotInWrapUp,
    #[error("is in a forced wrap-up, which cannot be ended early")]
    CannotEndEarly,
    #[error("is disabled")]
    AgentDisabled,
    #[error("is on a call")]
    OnCall,
    #[error("is already on a call")]
    AlreadyOnCall,
    #[error("is not on a call")]
    NotOnCall,
    #[error("is not logged in")]
    NotLoggedIn,
    /// A required value is missing or blank; names the parameter.
    #[error("{0} must not be empty")]
    Missing(&'static str),
    /// A number outside what the field allows; names the parameter.
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    /// An ssid to register that is not 32 to 256 characters of `[A-Za-z0-9_-]`.
    #[error("ssid must be 32 to 256 characters of A-Z, a-z, 0-9, '_' and '-'")]
    BadSsid,
    /// A report period whose `from` or `to` does not read, or that ends before it starts.
    #[error("is not a period: from and to must be Unix seconds or ISO 8601, to after from")]
    BadPeriod,
    /// A report period longer than `MAX_PERIOD_DAYS`, or of more than `MAX_REPORT_ROWS` rows.
    #[error("is too long a period (at most 93 days and 100,000 rows)")]
    PeriodTooLong,
    /// A report period that starts before the history kept (`EVENTS_RETENTION_DAYS`).
    #[error("starts before the history kept (from {0} on)")]
    BeforeRetention(i64),
    /// A time zone that is not an IANA name the server knows.
    #[error("is not a known time zone")]
    UnknownTimeZone,
    /// A webhook URL that cannot be used: says why.
    #[error("url {0}")]
    WebhookUrl(&'static str),
    /// A webhook URL that names or resolves to a private address.
    #[error("url resolves to a loopback, private or link-local address")]
    WebhookPrivate,
    /// A webhook filter that is no event kind or family.
    #[error("{0:?} is not an event kind or family")]
    UnknownEventFilter(String),
    /// Text the database cannot store (a NUL character): bad input, not a fault.
    #[error("holds text the database cannot store")]
    BadText,
    /// The session was ended by a change that committed first.
    #[error("session has ended")]
    SessionEnded,
    /// The health probe cannot reach the database: refused without trying (logged once, by
    /// the probe).
    #[error("database known unreachable")]
    Down,
    /// The database cannot take the request now: retryable.
    #[error(transparent)]
    Unavailable(StoreError),
    /// Anything else the store failed at: a fault, for the log.
    #[error(transparent)]
    Storage(StoreError),
}

/// The store's failures in the service's words: the one place where they are sorted, so
/// that the adapters never name the store.
impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::AgentDisabled => ServiceError::AgentDisabled,
            StoreError::OnCall => ServiceError::OnCall,
            StoreError::OnBreak => ServiceError::AlreadyOnBreak,
            StoreError::NotLoggedIn => ServiceError::NotLoggedIn,
            StoreError::SessionEnded => ServiceError::SessionEnded,
            StoreError::BadText => ServiceError::BadText,
            StoreError::Down => ServiceError::Down,
            StoreError::Unavailable(_) => ServiceError::Unavailable(err),
            other => ServiceError::Storage(other),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// What a uniqueness conflict of the store means for one change: the one place where
/// `StoreError::Conflict` becomes a refusal.
trait OnConflict<T> {
    fn on_conflict(self, refusal: ServiceError) -> Result<T>;
}

impl<T> OnConflict<T> for Result<T, StoreError> {
    fn on_conflict(self, refusal: ServiceError) -> Result<T> {
        match self {
            Err(StoreError::Conflict) => Err(refusal),
            other => Ok(other?),
        }
    }
}

/// A required text: trimmed, and not empty.
pub fn required<'a>(name: &'static str, value: &'a str) -> Result<&'a str> {
    let value = value.trim();
    if value.is_empty() {
        Err(ServiceError::Missing(name))
    } else {
        Ok(value)
    }
}

/// A number that must be at least `min` when given.
fn at_least(name: &'static str, value: Option<i64>, min: i64) -> Result<()> {
    match value {
        Some(v) if v < min => Err(ServiceError::OutOfRange(name)),
        _ => Ok(()),
    }
}

/// The store, its live view, the heartbeats waiting to be written, and the settings the
/// rules read.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    pings: Arc<Pings>,
    config: Arc<Config>,
    webhook_metrics: WebhookMetrics,
    /// When the sweeper next runs the reports' roll-up (Unix seconds).
    roll_up_at: Arc<std::sync::atomic::AtomicI64>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> Service {
        Service {
            store,
            pings: Arc::default(),
            config,
            webhook_metrics: WebhookMetrics::default(),
            roll_up_at: Arc::default(),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The settings, to keep beside the service (the HTTP layers read them).
    pub fn shared_config(&self) -> Arc<Config> {
        self.config.clone()
    }

    /// The webhook deliverer's counters, for the metrics page.
    pub fn webhook_metrics(&self) -> &WebhookMetrics {
        &self.webhook_metrics
    }

    pub fn pings(&self) -> &Pings {
        &self.pings
    }

    /// The agent's state from the live view, loaded into it on a miss; None while the view
    /// is off (the caller asks the database what it needs).
    async fn live_agent(&self, agent: &Agent) -> Result<Option<Arc<LiveAgent>>> {
        let view = self.store.feed().view();
        if let Some(state) = view.agent(agent.id) {
            return Ok(Some(state));
        }
        let Some(generation) = view.generation() else {
            return Ok(None);
        };
        let (state, account) = self
            .store
            .live_agent(agent.id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(Some(view.install(generation, None, state, account)))
    }
}

/// Opens the database the configuration names (see [`crate::store::connect`]).
pub async fn connect(config: &Config) -> crate::store::Result<Arc<dyn Store>> {
    let options = StoreOptions {
        url: config.database_url.clone(),
        max_connections: config.db_max_connections,
        acquire_timeout: std::time::Duration::from_secs(config.db_acquire_timeout_secs),
    };
    crate::store::connect(&options).await
}
