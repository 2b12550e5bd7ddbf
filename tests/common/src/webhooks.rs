//! A webhook receiver on 127.0.0.1, as an integrator would run one: it verifies every
//! delivery's signature with the Standard Webhooks algorithm (written here from the spec, not
//! taken from the server), and can fail a share of requests or hang past the sender's timeout.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// What the receiver does with a request, by chance.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// Share of requests answered 500.
    pub fail: f64,
    /// Share of requests that hang this long before answering 200 (past the sender's timeout).
    pub hang: f64,
    pub hang_for: Duration,
}

/// One request that reached the receiver.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// `webhook-id`.
    pub id: String,
    pub body: Value,
    /// The `v1,…` entries of `webhook-signature`.
    pub signatures: Vec<String>,
    /// Which of the receiver's secrets verified them (indexes), in order.
    pub verified_by: Vec<usize>,
    /// It was answered 2xx in time: delivered.
    pub accepted: bool,
    pub at: Instant,
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    behaviour: Behaviour,
    arrivals: Vec<Arrival>,
    /// The event ids accepted, each once, in the order first accepted (and as a set).
    delivered: Vec<i64>,
    seen: std::collections::HashSet<i64>,
    /// Requests whose signature no secret verified, or without the headers.
    unsigned: u64,
}

/// The receiver; dropped, it stops.
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The Standard Webhooks signature: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed
/// with the base64 part of `whsec_…` decoded.
pub fn spec_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    engine.encode(mac.finalize().into_bytes())
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (id, timestamp, signature) = (
        header("webhook-id").unwrap_or_default(),
        header("webhook-timestamp").unwrap_or_default(),
        header("webhook-signature").unwrap_or_default(),
    );
    let signatures: Vec<String> = signature.split(' ').map(str::to_owned).collect();
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - crate::now_unix()).abs() <= 300);
    let (verified_by, behaviour) = {
        let inner = inner.lock().unwrap();
        let verified_by: Vec<usize> = signatures
            .iter()
            .filter_map(|s| {
                let sig = s.strip_prefix("v1,")?;
                inner
                    .secrets
                    .iter()
                    .position(|secret| spec_signature(secret, &id, &timestamp, &body) == sig)
            })
            .collect();
        (verified_by, inner.behaviour)
    };
    let valid = fresh && !id.is_empty() && !verified_by.is_empty();
    let roll: f64 = rand::random();
    let hang = roll < behaviour.hang;
    let fail = !hang && roll < behaviour.hang + behaviour.fail;
    if hang {
        tokio::time::sleep(behaviour.hang_for).await;
    }
    let arrival = Arrival {
        id,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        signatures,
        verified_by,
        accepted: valid && !fail && !hang,
        at: Instant::now(),
    };
    let mut inner = inner.lock().unwrap();
    if !valid {
        inner.unsigned += 1;
    }
    if let Ok(event) = arrival.id.parse::<i64>() {
        if arrival.accepted && inner.seen.insert(event) {
            inner.delivered.push(event);
        }
    }
    inner.arrivals.push(arrival);
    if !valid {
        StatusCode::UNAUTHORIZED
    } else if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    /// A receiver on a free port of 127.0.0.1; its `url` ends in `/hook`.
    pub async fn start(behaviour: Behaviour) -> Receiver {
        let inner = Arc::new(Mutex::new(Inner {
            behaviour,
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
            server,
        }
    }

    /// Verifies signatures with this secret too.
    pub fn trust(&self, secret: &str) {
        self.inner.lock().unwrap().secrets.push(secret.to_owned());
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.inner.lock().unwrap().behaviour = behaviour;
    }

    /// Every request so far, in arrival order.
    pub fn arrivals(&self) -> Vec<Arrival> {
        self.inner.lock().unwrap().arrivals.clone()
    }

    /// Requests that were not signed by a trusted secret.
    pub fn unsigned(&self) -> u64 {
        self.inner.lock().unwrap().unsigned
    }

    /// The ids of the events delivered (accepted), each once, in the order first accepted.
    pub fn delivered(&self) -> Vec<i64> {
        self.inner.lock().unwrap().delivered.clone()
    }

    /// Waits until every one of `ids` was delivered; fails after `within`. Answers when.
    pub async fn until_delivered(&self, ids: &[i64], within: Duration) -> Instant {
        let started = Instant::now();
        loop {
            let missing: Vec<&i64> = {
                let inner = self.inner.lock().unwrap();
                ids.iter().filter(|id| !inner.seen.contains(id)).collect()
            };
            if missing.is_empty() {
                return Instant::now();
            }
            assert!(
                started.elapsed() < within,
                "not delivered within {within:?}: {} of {} ({:?}…)",
                missing.len(),
                ids.len(),
                &missing[..missing.len().min(5)]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
