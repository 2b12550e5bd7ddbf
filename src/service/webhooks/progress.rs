//! The deliverer's one writer of progress. The batches of an account's endpoints go out from
//! one read and come back at about the same time: what has come back is recorded in ONE
//! transaction (cursors, attempts), not one each. It never waits for a batch still out: what
//! is ready is written at once, and what comes back meanwhile goes with the next write. The
//! write is not durable when answered (see `store::Progress`): a crash of the database that
//! undoes it only sends those events again. Each endpoint's log is trimmed once in a while,
//! not at every write.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Progress, Store, StoreError};

/// Runs recorded in one transaction at most.
const MOST: usize = 64;
/// Attempts recorded for an endpoint between two trims of its log: it holds at most about
/// this many beyond the kept ones (after a restart, until its next trim, twice that).
const TRIM_EVERY: usize = 400;

type Reply = oneshot::Sender<Result<bool, StoreError>>;

/// Where runs are handed to be recorded; the writer stops when the last clone is dropped.
#[derive(Clone)]
pub struct ProgressWriter {
    queue: mpsc::UnboundedSender<(Progress, Reply)>,
}

impl ProgressWriter {
    /// Starts the writer on the caller's runtime (the server's: see `sender.rs`).
    pub fn start(store: Arc<dyn Store>) -> ProgressWriter {
        let (queue, queued) = mpsc::unbounded_channel();
        tokio::spawn(write(store, queued));
        ProgressWriter { queue }
    }

    /// Records the run (with those handed at about the same time); false if its cursor had
    /// moved since it was read.
    pub async fn record(&self, run: Progress) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((run, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    // The writer stops only with the deliverer, which waits for no answer then.
    StoreError::Down
}

async fn write(store: Arc<dyn Store>, mut queued: mpsc::UnboundedReceiver<(Progress, Reply)>) {
    // Attempts recorded per endpoint since its log was last trimmed.
    let mut since_trim: HashMap<i64, usize> = HashMap::new();
    let mut group = Vec::with_capacity(MOST);
    while queued.recv_many(&mut group, MOST).await > 0 {
        let (mut runs, replies): (Vec<Progress>, Vec<Reply>) = group.drain(..).unzip();
        for run in &mut runs {
            let count = since_trim.entry(run.webhook).or_default();
            *count += run.made.len();
            run.trim = *count >= TRIM_EVERY;
        }
        match store.record_progress(&runs).await {
            Ok(moved) => {
                for (run, moved) in runs.iter().zip(&moved) {
                    if run.trim && *moved {
                        since_trim.remove(&run.webhook);
                    }
                }
                for (reply, moved) in replies.into_iter().zip(moved) {
                    let _ = reply.send(Ok(moved));
                }
            }
            Err(err) if runs.len() == 1 => {
                let _ = replies.into_iter().next().map(|r| r.send(Err(err)));
            }
            Err(_) => {
                // Each on its own: each is told its own error, and one that cannot be
                // written holds up none of the others.
                for (run, reply) in runs.into_iter().zip(replies) {
                    let answer = store.record_progress(&[run]).await;
                    let _ = reply.send(answer.map(|moved| moved.first() == Some(&true)));
                }
            }
        }
    }
}
