//! Sending one webhook: the HTTP client of an endpoint (one keep-alive connection, no
//! redirects, no proxy, a resolver that drops private addresses at connection time, so a
//! name that changes what it resolves to after registration gains nothing), the Standard
//! Webhooks headers, and what the endpoint answered (at most 4 KB of its body is read).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::Config;
use crate::domain::is_private_ip;
use crate::secrets::sign_webhook;

/// The most of an answer's body that is read.
const BODY_READ_MAX: usize = 4096;

/// What an endpoint made of one delivery.
#[derive(Debug, Clone)]
pub struct Sent {
    pub ok: bool,
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// Why it failed, in a few words (never the URL, which may hold credentials).
    pub error: Option<String>,
}

/// Resolves as the system does, then keeps only public addresses.
struct PublicOnly;

#[derive(Debug, thiserror::Error)]
#[error("the name resolves only to private addresses")]
struct PrivateOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| !is_private_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(PrivateOnly) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// An endpoint's client: at most one idle connection kept, no redirects, no proxy, the
/// timeout, and unless WEBHOOK_ALLOW_PRIVATE the resolver that refuses private addresses.
pub fn client(config: &Config) -> reqwest::Client {
    let timeout = Duration::from_secs(config.webhook_timeout_secs);
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .user_agent(concat!("agentprofile-webhooks/", env!("CARGO_PKG_VERSION")));
    if !config.webhook_allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build().unwrap_or_default()
}

/// Whether the URL names a private address literally (the resolver never sees those).
pub fn names_private_ip(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => is_private_ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_ip(IpAddr::V6(ip)),
        _ => false,
    }
}

/// The `webhook-signature` header: one `v1,…` per secret, space-separated.
pub fn signatures(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| sign_webhook(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// POSTs one message, signed with each of `secrets`.
pub async fn send(
    client: &reqwest::Client,
    config: &Config,
    url: &str,
    id: &str,
    secrets: &[&str],
    body: Vec<u8>,
) -> Sent {
    let started = Instant::now();
    let failed = |error: &str, status: Option<u16>| Sent {
        ok: false,
        status,
        latency_ms: started.elapsed().as_millis() as i64,
        error: Some(error.to_owned()),
    };
    let Ok(parsed) = url::Url::parse(url) else {
        return failed("not a URL", None);
    };
    if !config.webhook_allow_private && names_private_ip(&parsed) {
        return failed("a private address", None);
    }
    let timestamp = crate::domain::now_unix();
    let signature = signatures(secrets, id, timestamp, &body);
    let request = client
        .post(parsed)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body);
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(err) => return failed(&describe(&err), None),
    };
    let status = response.status();
    // Read a little of the body (so the connection can be kept), never all of it.
    let mut read = 0;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                read += chunk.len();
                if read >= BODY_READ_MAX {
                    break;
                }
            }
            Ok(None) => break,
            Err(err) if status.is_success() => {
                return failed(&describe(&err), Some(status.as_u16()));
            }
            Err(_) => break,
        }
    }
    if status.is_success() {
        Sent {
            ok: true,
            status: Some(status.as_u16()),
            latency_ms: started.elapsed().as_millis() as i64,
            error: None,
        }
    } else {
        failed(&format!("HTTP {}", status.as_u16()), Some(status.as_u16()))
    }
}

/// A failure in a few words.
fn describe(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = source {
        if e.is::<PrivateOnly>() {
            return "a private address".into();
        }
        source = e.source();
    }
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "cannot connect".into()
    } else if err.is_redirect() {
        "a redirect (not followed)".into()
    } else {
        "the request failed".into()
    }
}
