//! Webhooks: endpoints that hear an account's events, the filters that pick which, the
//! addresses they may not reach, and the retry schedule. Pure rules; the delivery is in
//! `service::webhooks`.

use std::net::IpAddr;

use serde::Serialize;
use utoipa::ToSchema;

use super::EventKind;

/// Longest `url` and `description`, and most filters in `events`.
pub const WEBHOOK_URL_MAX: usize = 2048;
pub const WEBHOOK_DESCRIPTION_MAX: usize = 500;
pub const WEBHOOK_FILTERS_MAX: usize = 50;
/// How long a replaced secret keeps signing beside the new one.
pub const SECRET_OVERLAP_SECS: i64 = 86_400;

/// An endpoint as the API shows it: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub description: String,
    /// Event kinds (`break.start`) or families (`break.*`) it hears; empty: every event.
    pub events: Vec<String>,
    /// Disabled by a request, or by the deliverer after WEBHOOK_MAX_ATTEMPTS failures.
    pub enabled: bool,
    /// The id of the last event delivered (or skipped by the filters).
    pub cursor: i64,
    /// Failed attempts at the event after the cursor.
    pub attempts: i64,
    /// When that event is tried again (Unix milliseconds); null: as soon as it is there.
    pub next_try_ms: Option<i64>,
    /// Until when the replaced secret still signs beside the new one (Unix seconds).
    pub previous_secret_until: Option<i64>,
    pub created_at: i64,
}

/// What the deliverer needs of an endpoint: the listed form, its account and secrets (which
/// `Debug` leaves out, so no log line can carry them).
#[derive(Clone)]
pub struct WebhookTarget {
    pub webhook: Webhook,
    pub account_pk: i64,
    pub secret: String,
    pub previous_secret: Option<String>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("webhook", &self.webhook)
            .field("account_pk", &self.account_pk)
            .finish_non_exhaustive()
    }
}

impl WebhookTarget {
    /// The secrets that sign at `now`: the current one, and the replaced one during its overlap.
    pub fn signing_secrets(&self, now: i64) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.webhook.previous_secret_until)
        {
            if now < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// A new endpoint, checked (see `service::webhooks`).
#[derive(Clone)]
pub struct NewWebhook {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub secret: String,
}

/// A change to an endpoint; absent fields are kept.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    /// Enabling starts it again from where its cursor is, with no failed attempts.
    pub enabled: Option<bool>,
}

/// One delivery attempt, as `GET /v1/webhooks/{id}/deliveries` lists it.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub id: i64,
    /// The event sent (its `webhook-id`).
    pub event_id: i64,
    /// 1 for the first try of this event.
    pub attempt: i64,
    /// When it was sent (Unix milliseconds).
    pub at_ms: i64,
    /// A 2xx answer.
    pub ok: bool,
    /// The HTTP status answered; null when none was (refused, timed out).
    pub status: Option<i64>,
    pub latency_ms: i64,
    /// Why it failed, in a few words; null on success.
    pub error: Option<String>,
    /// After a failure, when the event is tried again (Unix milliseconds); null if not.
    pub next_try_ms: Option<i64>,
}

/// A filter is `*`, an event kind, or a family `break.*` that some kind belongs to.
pub fn is_known_filter(filter: &str) -> bool {
    if filter == "*" {
        return true;
    }
    match filter.strip_suffix(".*") {
        Some(family) => EventKind::ALL
            .iter()
            .any(|k| k.as_str().split('.').next() == Some(family)),
        None => EventKind::ALL.iter().any(|k| k.as_str() == filter),
    }
}

/// Whether an endpoint with these filters hears an event of this kind (none: every one).
pub fn hears(filters: &[String], kind: EventKind) -> bool {
    let kind = kind.as_str();
    filters.is_empty()
        || filters.iter().any(|f| {
            f == "*"
                || f == kind
                || f.strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with('.') && kind.starts_with(prefix))
        })
}

/// Addresses an endpoint may not resolve to (unless WEBHOOK_ALLOW_PRIVATE): loopback,
/// private, link-local, unique-local, unspecified, broadcast, documentation, shared (CGNAT)
/// and multicast ranges, and IPv4 written as IPv6.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x64 && v6.segments()[1] == 0xff9b
        }
    }
}

/// The wait before retry `attempt` (1 after the first failure): `base` doubled each time,
/// capped at 12 hours, then spread by `jitter` (0.0–1.0 picks 80–120 %). With the default
/// 5 s base and 15 attempts the retries span about 23 hours.
pub fn retry_delay_ms(base_ms: u64, attempt: u32, jitter: f64) -> u64 {
    const CAP_MS: u64 = 12 * 3600 * 1000;
    let doubled = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(40));
    let capped = doubled.min(CAP_MS) as f64;
    (capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_kinds_and_families() {
        let f = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(hears(&[], EventKind::Login));
        assert!(hears(&f(&["break.*"]), EventKind::BreakEnd));
        assert!(!hears(&f(&["break.*"]), EventKind::WrapEnd));
        assert!(hears(&f(&["call.start", "login"]), EventKind::Login));
        assert!(!hears(&f(&["call.start"]), EventKind::CallEnd));
        assert!(is_known_filter("presence.*") && is_known_filter("tag.create"));
        assert!(!is_known_filter("nope.*") && !is_known_filter("break") && !is_known_filter(""));
    }

    #[test]
    fn private_ranges_are_refused() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private_ip(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_private_ip(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn retries_spread_over_about_a_day() {
        assert_eq!(retry_delay_ms(5000, 1, 0.5), 5000);
        assert_eq!(retry_delay_ms(5000, 2, 0.5), 10_000);
        assert_eq!(retry_delay_ms(5000, 2, 0.0), 8000);
        let total: u64 = (1..15).map(|a| retry_delay_ms(5000, a, 0.5)).sum();
        assert!((20 * 3_600_000..26 * 3_600_000).contains(&total), "{total}");
        assert_eq!(retry_delay_ms(5000, 60, 0.5), 12 * 3600 * 1000);
    }
}
