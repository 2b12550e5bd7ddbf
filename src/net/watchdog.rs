//! A connection's watchdog: when it is to be closed, and why. The socket tells it when
//! bytes arrive, the service when a request begins, and the answer's body when it ends; the
//! connection loop (`net::connection`) waits for the deadline it gives.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::http::Version;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Limits;
use crate::metrics::{HEADER, IDLE, TimeoutLabels};

/// What one connection is doing, for its watchdog: told by the socket (bytes arrive), the
/// service (a request begins) and the answers' bodies (a request ends).
pub(super) struct Activity {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when the deadline came sooner than the one it waits for.
    pub(super) changed: Notify,
    limits: Limits,
}

struct Phase {
    opened: Instant,
    /// Requests begun and not yet answered in full.
    in_progress: usize,
    /// Whether any request has begun: until one has, the header timeout runs from `opened`.
    served: bool,
    /// When the last answer ended.
    idle_since: Instant,
    /// The first byte after `idle_since`: the next request's head is on its way.
    head_since: Option<Instant>,
    http2: bool,
    /// The deadline the watchdog waits for (None: it waits for a wake). Only a sooner one
    /// wakes it: at a later one it reads the deadline again, so a request that began
    /// meanwhile is never cut, and a kept-alive connection costs one wake per request.
    armed: Option<Instant>,
}

impl Activity {
    pub(super) fn new(limits: Limits) -> Activity {
        let now = Instant::now();
        Activity {
            phase: Mutex::new(Phase {
                opened: now,
                in_progress: 0,
                served: false,
                idle_since: now,
                head_since: None,
                http2: false,
                armed: None,
            }),
            changed: Notify::new(),
            limits,
        }
    }

    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        // The lock guards plain values; a panic elsewhere cannot leave them half-written.
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the connection is to be closed, and why, noted as what the watchdog waits for.
    pub(super) fn arm(&self) -> Option<(Instant, TimeoutLabels)> {
        let mut phase = self.phase();
        let deadline = phase.deadline(&self.limits);
        phase.armed = deadline.map(|(at, _)| at);
        deadline
    }

    /// Wakes the watchdog if the deadline is now sooner than the one it waits for.
    fn moved(&self, phase: std::sync::MutexGuard<'_, Phase>) {
        let sooner = match (phase.deadline(&self.limits), phase.armed) {
            (Some((at, _)), Some(armed)) => at < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        drop(phase);
        if sooner {
            self.changed.notify_one();
        }
    }

    fn bytes_arrived(&self) {
        let mut phase = self.phase();
        if phase.in_progress == 0 && phase.head_since.is_none() {
            phase.head_since = Some(Instant::now());
            self.moved(phase);
        }
    }

    pub(super) fn begin(self: &Arc<Self>, version: Version) -> InProgress {
        let mut phase = self.phase();
        phase.in_progress += 1;
        phase.served = true;
        phase.head_since = None;
        phase.http2 |= version == Version::HTTP_2;
        // No deadline now: never sooner, so the watchdog is not woken.
        drop(phase);
        InProgress(self.clone())
    }
}

impl Phase {
    /// When the connection is to be closed, and why; None while a request is in progress.
    fn deadline(&self, limits: &Limits) -> Option<(Instant, TimeoutLabels)> {
        if self.in_progress > 0 {
            None
        } else if !self.served {
            Some((self.opened + limits.header_read_timeout, HEADER))
        } else {
            match self.head_since {
                // HTTP/2 sends frames (PING, SETTINGS, WINDOW_UPDATE) between requests:
                // bytes do not mean a request is on its way.
                Some(at) if !self.http2 => Some((at + limits.header_read_timeout, HEADER)),
                _ => Some((self.idle_since + limits.keep_alive_timeout, IDLE)),
            }
        }
    }
}

/// A request begun and not yet answered in full.
pub(super) struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        let mut phase = self.0.phase();
        phase.in_progress -= 1;
        if phase.in_progress == 0 {
            phase.idle_since = Instant::now();
            phase.head_since = None;
        }
        self.0.moved(phase);
    }
}

/// The socket, noting when bytes arrive.
pub(super) struct Watched {
    pub(super) io: TcpStream,
    pub(super) activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const HEAD: Duration = Duration::from_secs(5);
    const KEEP: Duration = Duration::from_secs(20);

    fn limits() -> Limits {
        Limits {
            header_read_timeout: HEAD,
            keep_alive_timeout: KEEP,
            max_connections: 1,
            http2_max_concurrent_streams: 1,
        }
    }

    fn phase(http2: bool) -> Phase {
        let t = Instant::now();
        Phase {
            opened: t,
            in_progress: 0,
            served: false,
            idle_since: t,
            head_since: None,
            http2,
            armed: None,
        }
    }

    #[test]
    fn a_new_connection_has_the_header_timeout_from_its_opening() {
        let p = phase(false);
        assert_eq!(p.deadline(&limits()), Some((p.opened + HEAD, HEADER)));
    }

    #[test]
    fn a_request_in_progress_has_no_deadline() {
        let p = Phase {
            in_progress: 1,
            served: true,
            ..phase(false)
        };
        assert_eq!(p.deadline(&limits()), None);
    }

    #[test]
    fn after_an_answer_the_idle_timeout_then_the_next_heads_header_timeout() {
        let idle = Phase {
            served: true,
            ..phase(false)
        };
        assert_eq!(
            idle.deadline(&limits()),
            Some((idle.idle_since + KEEP, IDLE))
        );
        let at = idle.idle_since + Duration::from_secs(7);
        let heading = Phase {
            head_since: Some(at),
            ..idle
        };
        assert_eq!(heading.deadline(&limits()), Some((at + HEAD, HEADER)));
    }

    #[test]
    fn http2_frames_between_requests_keep_the_idle_timeout() {
        let p = Phase {
            served: true,
            head_since: Some(Instant::now()),
            ..phase(true)
        };
        assert_eq!(p.deadline(&limits()), Some((p.idle_since + KEEP, IDLE)));
    }

    /// Whether the watchdog was woken (a permit is stored when nobody waits).
    async fn woken(activity: &Activity) -> bool {
        tokio::time::timeout(Duration::ZERO, activity.changed.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn only_a_sooner_deadline_wakes_the_watchdog() {
        let activity = Arc::new(Activity::new(limits()));
        let (armed, why) = activity.arm().unwrap();
        assert_eq!(why, HEADER);
        // A request begins and ends: the idle deadline (later than the armed one) wakes
        // nobody; the watchdog finds it when the armed one passes.
        drop(activity.begin(Version::HTTP_11));
        assert!(!woken(&activity).await, "a later deadline does not wake");
        let (idle_at, why) = activity.arm().unwrap();
        assert_eq!(why, IDLE);
        assert!(idle_at > armed);
        // The next head's first bytes: the header timeout, sooner than the idle one.
        activity.bytes_arrived();
        assert!(woken(&activity).await, "a sooner deadline wakes");
        assert_eq!(activity.arm().unwrap().1, HEADER);
    }
}
