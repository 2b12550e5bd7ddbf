//! Where the deliveries are sent from: a thread of their own, at a lower OS priority (nice
//! 10 on Linux), with its own single-threaded runtime. The HTTP, the signing and the
//! endpoints' connections live there, so under a saturated CPU the request path keeps its
//! share and deliveries wait (the lag gauges show it) until there is idle CPU again. The
//! database work of the deliverer stays on the server's runtime: a pooled connection opened
//! from the slow thread would be driven by it, and a request handed that connection would
//! wait for it.

use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::client::{self, Sent};
use crate::config::Config;

/// The nice value of the sending thread (0 is the server's; 19 the lowest priority).
const NICE: i32 = 10;

/// One event as every endpoint of its account is sent it: serialized once.
#[derive(Debug)]
pub struct Message {
    pub id: i64,
    pub kind: crate::domain::EventKind,
    /// When it happened (Unix seconds).
    pub at: i64,
    pub body: Vec<u8>,
}

/// An attempt made: when (Unix milliseconds) and what the endpoint made of it.
pub struct Made {
    pub at_ms: i64,
    pub sent: Sent,
}

/// What a batch goes to: the endpoint's client, URL and signing secrets; and the counters
/// each attempt is counted in as it is made.
pub struct Batch {
    pub webhook: i64,
    pub metrics: crate::metrics::WebhookMetrics,
    pub client: reqwest::Client,
    pub url: String,
    /// The current secret and, during a rotation's overlap, the replaced one.
    pub secrets: Vec<String>,
    pub messages: Vec<Arc<Message>>,
}

/// The sending thread's runtime; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct Sender {
    handle: Handle,
    _stop: Arc<oneshot::Sender<()>>,
}

impl Sender {
    /// Starts the thread; without one (it cannot be spawned), the caller's runtime sends.
    pub async fn start() -> Sender {
        let (stop, stopped) = oneshot::channel::<()>();
        let (give, handle) = oneshot::channel();
        let spawned = std::thread::Builder::new()
            .name("webhook-sender".into())
            .spawn(move || {
                lower_priority();
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        let _ = give.send(Some(runtime.handle().clone()));
                        runtime.block_on(async {
                            let _ = stopped.await;
                        });
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "no runtime for the webhook sender");
                        let _ = give.send(None);
                    }
                }
            });
        let handle = match spawned {
            Ok(_) => handle.await.ok().flatten(),
            Err(err) => {
                tracing::warn!(error = %err, "no thread for the webhook sender");
                None
            }
        };
        Sender {
            handle: handle.unwrap_or_else(Handle::current),
            _stop: Arc::new(stop),
        }
    }

    /// Sends the batch's messages one at a time, in order, up to the first failure; answers
    /// the attempts made (fewer than the messages after a failure, none if stopped).
    pub async fn send(&self, config: Arc<Config>, batch: Batch) -> Vec<Made> {
        let task = self.handle.spawn(async move {
            let secrets: Vec<&str> = batch.secrets.iter().map(String::as_str).collect();
            let mut made = Vec::with_capacity(batch.messages.len());
            for message in &batch.messages {
                let at_ms = now_ms();
                let sent = client::send(
                    &batch.client,
                    &config,
                    &batch.url,
                    &message.id.to_string(),
                    &secrets,
                    message.body.clone(),
                )
                .await;
                let ok = sent.ok;
                batch.metrics.attempted(batch.webhook, ok, 1);
                made.push(Made { at_ms, sent });
                if !ok {
                    break;
                }
            }
            made
        });
        // Dropped (the deliverer stopped, its lease lost), the sending stops too.
        let _abort = AbortOnDrop(task.abort_handle());
        task.await.unwrap_or_default()
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// This thread's nice value.
#[cfg(target_os = "linux")]
fn nice() -> i32 {
    // SAFETY: plain calls with integer arguments; `gettid` names the calling thread.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
}

/// Lowers this thread's priority to NICE, unless it is lower already (on Linux each thread
/// has its own nice value).
#[cfg(target_os = "linux")]
fn lower_priority() {
    if nice() >= NICE {
        return;
    }
    // SAFETY: as in `nice`: only the calling thread is changed.
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE) };
    if done != 0 {
        let error = std::io::Error::last_os_error();
        tracing::warn!(error = %error, "the webhook sender's priority is not lowered");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn deliveries_are_sent_from_a_thread_of_lower_priority() {
        let here = nice();
        let sender = Sender::start().await;
        let there = sender.handle.spawn(async { nice() }).await.unwrap();
        assert!(there >= NICE, "the sender's nice value is {there}");
        assert_eq!(nice(), here, "the caller's thread is unchanged");
    }
}
