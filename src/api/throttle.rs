//! Throttling of failed authentication, per client address and per `userId`.
//!
//! `governor` counts the failures (GCRA: a burst of `AUTH_FAILURES_PER_MINUTE`, then one more
//! each 60/N seconds). A key over its quota is blocked until governor would let the next
//! failure through; while blocked, every attempt of that key is refused with 429 before any
//! credential is looked up, so guessing costs the database nothing.
//!
//! Only guesses count: an unknown ssid or token, a token of another account. A real but
//! ended ssid, or a revoked or expired token, is a stale client, not a guess (an office of
//! forgotten tabs behind one address must not lock itself out).
//!
//! A blocked `userId` refuses only addresses that have failed themselves within the window:
//! otherwise anyone who knows an account's (public) userId could lock its telephony backend
//! out with twenty wrong tokens.
//!
//! A blocked address still gets answers for credentials the server knows to be valid (an ssid
//! in the live view, a token that authenticated here lately): a call center's agents share
//! one public address, and one client's guesses must not lock the whole office out. Only
//! what is unknown is refused, still before any lookup. A blocked `userId` stays as above.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use dashmap::DashMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::metrics::Metrics;

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    User(String),
}

impl Key {
    /// The metrics' label.
    fn name(&self) -> &'static str {
        match self {
            Key::Address(_) => "address",
            Key::User(_) => "user",
        }
    }
}

/// How long an address counts as "has failed" for a blocked `userId`.
const WINDOW: Duration = Duration::from_secs(60);

/// How long a token that authenticated counts as known to a blocked address (each success
/// renews it, at most once a minute).
const KNOWN_FOR: Duration = Duration::from_secs(3600);

pub struct AuthGuard {
    /// None when throttling is off (`AUTH_FAILURES_PER_MINUTE=0`).
    limiter: Option<DefaultKeyedRateLimiter<Key>>,
    blocked: DashMap<Key, Instant>,
    /// When the last block ends, in nanoseconds after `epoch`: past it no key is blocked,
    /// and a check needs no lookup (a shared map read on every request, the usual case).
    blocks_end: AtomicU64,
    epoch: Instant,
    failed_from: DashMap<IpAddr, Instant>,
    /// The SHA-256 of tokens that authenticated lately: valid when last seen.
    known_tokens: DashMap<[u8; 32], Instant>,
    trusted: Vec<IpNet>,
    metrics: Arc<Metrics>,
}

/// Refused by the throttle: the whole seconds until the key may try again (`Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled(pub u64);

/// Why an attempt may be refused: its address is blocked (a known credential is still
/// answered), or the `userId` it names is, for an address that guessed at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    Address(u64),
    User(u64),
}

/// Who is attempting: the client's address (None when the server cannot tell) and the
/// `userId` it names, if any.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub address: Option<IpAddr>,
    pub user_id: Option<String>,
}

impl AuthGuard {
    pub fn new(failures_per_minute: u32, trusted: Vec<IpNet>, metrics: Arc<Metrics>) -> AuthGuard {
        AuthGuard {
            limiter: NonZeroU32::new(failures_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            blocked: DashMap::new(),
            blocks_end: AtomicU64::new(0),
            epoch: Instant::now(),
            failed_from: DashMap::new(),
            known_tokens: DashMap::new(),
            trusted,
            metrics,
        }
    }

    /// The client's address: the peer's, or, when the peer is a trusted proxy, the last
    /// address of `X-Forwarded-For` that is not itself a trusted proxy (the ones before it
    /// are the client's to write).
    pub fn address(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(addr) if self.is_trusted(addr) => client = addr,
                Ok(addr) => return Some(addr),
                // Garbage in the header: the last trusted hop is all we know.
                Err(_) => return Some(client),
            }
        }
        Some(client)
    }

    fn is_trusted(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.trusted.iter().any(|net| net.contains(&addr))
    }

    /// Whether the attempt's `userId` or address is blocked, with the seconds until it may
    /// try again; the caller refuses it (`refuse`) or, for a known credential from a blocked
    /// address, answers it.
    pub fn check(&self, attempt: &Attempt) -> Result<(), Blocked> {
        if self.limiter.is_none() {
            return Ok(());
        }
        let now = Instant::now();
        if self.since_epoch(now) >= self.blocks_end.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(user_id) = &attempt.user_id
            && let Some(wait) = self.blocked_for(&Key::User(user_id.clone()), now)
            && attempt.address.is_none_or(|a| self.has_failed(a, now))
        {
            return Err(Blocked::User(wait));
        }
        if let Some(address) = attempt.address
            && let Some(wait) = self.blocked_for(&Key::Address(address), now)
        {
            return Err(Blocked::Address(wait));
        }
        Ok(())
    }

    /// Refuses a blocked attempt: counted, with its `Retry-After`.
    pub fn refuse(&self, blocked: Blocked) -> Throttled {
        let (by, wait) = match blocked {
            Blocked::Address(wait) => ("address", wait),
            Blocked::User(wait) => ("user", wait),
        };
        self.metrics.auth_refused(by);
        Throttled(wait)
    }

    /// Whether `token` authenticated here within [`KNOWN_FOR`].
    pub fn knows_token(&self, token: &str) -> bool {
        let now = Instant::now();
        self.known_tokens
            .get(&crate::secrets::digest(token))
            .is_some_and(|at| now.duration_since(*at) < KNOWN_FOR)
    }

    /// Notes that `token` authenticated (renewed at most once a minute).
    pub fn remember_token(&self, token: &str) {
        if self.limiter.is_none() {
            return;
        }
        let now = Instant::now();
        let digest = crate::secrets::digest(token);
        let fresh = |at: &Instant| now.duration_since(*at) < WINDOW;
        if !self.known_tokens.get(&digest).is_some_and(|at| fresh(&at)) {
            self.known_tokens.insert(digest, now);
        }
    }

    /// Counts a failed attempt (a guess) against its address and `userId`; the one past the
    /// burst is answered 429 instead of its failure, and blocks the key.
    pub fn failed(&self, attempt: &Attempt) -> Result<(), Throttled> {
        self.metrics.auth_failed();
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let now = Instant::now();
        let clock = DefaultClock::default();
        let mut keys = Vec::with_capacity(2);
        if let Some(address) = attempt.address {
            self.failed_from.insert(address, now);
            keys.push(Key::Address(address));
        }
        if let Some(user_id) = &attempt.user_id {
            keys.push(Key::User(user_id.clone()));
        }
        let mut refused = None;
        for key in keys {
            if let Err(not_until) = limiter.check_key(&key) {
                let wait = not_until.wait_time_from(clock.now());
                self.metrics.auth_refused(key.name());
                let until = now + wait;
                // Before the entry: a check that sees no block yet does not skip it later.
                self.blocks_end
                    .fetch_max(self.since_epoch(until), Ordering::Relaxed);
                self.blocked.insert(key, until);
                refused = refused.max(Some(whole_secs(wait)));
            }
        }
        refused.map_or(Ok(()), |secs| Err(Throttled(secs)))
    }

    fn since_epoch(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whole seconds until the key may try again, if it is blocked.
    fn blocked_for(&self, key: &Key, now: Instant) -> Option<u64> {
        let until = *self.blocked.get(key)?;
        until.checked_duration_since(now).map(whole_secs)
    }

    fn has_failed(&self, address: IpAddr, now: Instant) -> bool {
        self.failed_from
            .get(&address)
            .is_some_and(|at| now.duration_since(*at) < WINDOW)
    }

    /// Forgets keys whose window has passed, so that memory follows the recent failures only.
    pub fn tidy(&self) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        let now = Instant::now();
        limiter.retain_recent();
        limiter.shrink_to_fit();
        self.blocked.retain(|_, until| *until > now);
        self.failed_from
            .retain(|_, at| now.duration_since(*at) < WINDOW);
        self.known_tokens
            .retain(|_, at| now.duration_since(*at) < KNOWN_FOR);
    }
}

/// For `Retry-After`: rounded up, at least 1.
fn whole_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn guard(per_minute: u32, trusted: &str) -> AuthGuard {
        AuthGuard::new(
            per_minute,
            crate::config::parse_trusted(trusted).unwrap(),
            Arc::new(Metrics::new()),
        )
    }

    fn from(peer: &str, forwarded: Option<&str>) -> (HeaderMap, Extensions) {
        let mut headers = HeaderMap::new();
        if let Some(f) = forwarded {
            headers.insert("x-forwarded-for", HeaderValue::from_str(f).unwrap());
        }
        let mut ext = Extensions::new();
        ext.insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 4000)));
        (headers, ext)
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let g = guard(20, "10.0.0.0/8, 127.0.0.1");
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let (h, e) = from("203.0.113.9", Some("198.51.100.1"));
        assert_eq!(g.address(&h, &e), ip("203.0.113.9"), "untrusted peer");
        let (h, e) = from("10.1.2.3", Some("1.1.1.1, 198.51.100.1, 10.9.9.9"));
        assert_eq!(g.address(&h, &e), ip("198.51.100.1"), "last untrusted hop");
        let (h, e) = from("127.0.0.1", None);
        assert_eq!(g.address(&h, &e), ip("127.0.0.1"), "no header");
        let (h, e) = from("127.0.0.1", Some("not-an-ip"));
        assert_eq!(g.address(&h, &e), ip("127.0.0.1"), "garbage");
    }

    #[test]
    fn a_burst_of_failures_blocks_the_address_then_the_window_passes() {
        let g = guard(20, "");
        let attempt = Attempt {
            address: "203.0.113.5".parse().ok(),
            user_id: None,
        };
        for _ in 0..20 {
            assert!(g.check(&attempt).is_ok());
            assert!(g.failed(&attempt).is_ok());
        }
        assert!(g.failed(&attempt).is_err());
        match g.check(&attempt) {
            Err(Blocked::Address(secs)) => assert!((1..=3).contains(&secs), "{secs}"),
            other => panic!("not throttled: {other:?}"),
        }
        let other = Attempt {
            address: "203.0.113.6".parse().ok(),
            user_id: None,
        };
        assert!(g.check(&other).is_ok(), "another address is not slowed");
        // Off: never refuses.
        let off = guard(0, "");
        for _ in 0..100 {
            assert!(off.failed(&attempt).is_ok());
        }
        assert!(off.check(&attempt).is_ok());
    }
}
