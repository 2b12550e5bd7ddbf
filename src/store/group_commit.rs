//! Group commit: the writes of one account that commit while a sequencing run is under way
//! are all served by the next run, which one of them (the leader) makes while the others
//! wait. On PostgreSQL a run numbers the account's waiting events, announces them and
//! commits durably, for all of them at once (migration 0012, `pg_commit.rs`); the account's
//! event lock, the announcement lock and the WAL flush are taken once per run, not per write.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Each account's turn to run.
#[derive(Default)]
pub struct Turns {
    accounts: Mutex<HashMap<i64, Arc<Turn>>>,
}

#[derive(Default)]
struct Turn {
    /// Runs begun (counted under `finished`'s lock).
    started: AtomicU64,
    /// The number of the last run that succeeded; held by the run under way.
    finished: tokio::sync::Mutex<u64>,
}

impl Turns {
    /// Returns once a run of the account that began after this call has succeeded: the
    /// caller's, `run`, if no other run did first (waiters are served in turn, so one run
    /// serves every write that committed while the previous one ran).
    pub async fn after<E, F, R>(&self, account_pk: i64, run: F) -> Result<(), E>
    where
        F: FnOnce() -> R,
        R: Future<Output = Result<(), E>>,
    {
        let turn = {
            let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            accounts.entry(account_pk).or_default().clone()
        };
        // A run numbered above those begun so far begins after now.
        let wanted = turn.started.load(Ordering::SeqCst) + 1;
        let mut finished = turn.finished.lock().await;
        if *finished >= wanted {
            return Ok(());
        }
        let number = turn.started.fetch_add(1, Ordering::SeqCst) + 1;
        run().await?;
        *finished = number;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_run_serves_the_writes_that_waited_for_it_and_a_failed_one_none() {
        let turns = Arc::new(Turns::default());
        let runs = Arc::new(AtomicUsize::new(0));
        // A slow run in progress: the writes that wait meanwhile share the next one.
        let gate = Arc::new(tokio::sync::Notify::new());
        let first = {
            let (turns, runs, gate) = (turns.clone(), runs.clone(), gate.clone());
            tokio::spawn(async move {
                turns
                    .after(1, || async move {
                        gate.notified().await;
                        runs.fetch_add(1, Ordering::SeqCst);
                        Ok::<(), ()>(())
                    })
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let (turns, runs) = (turns.clone(), runs.clone());
                tokio::spawn(async move {
                    turns
                        .after(1, || async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            Ok::<(), ()>(())
                        })
                        .await
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        gate.notify_one();
        first.await.unwrap().unwrap();
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // A write after them all needs a run of its own; one that fails serves nobody.
        assert_eq!(
            turns.after(1, || async { Err::<(), _>("down") }).await,
            Err("down")
        );
        turns.after(1, || async { Ok::<(), ()>(()) }).await.unwrap();
        // Another account's turn is its own.
        let other = turns.after(2, || async { Err::<(), _>("other") }).await;
        assert_eq!(other, Err("other"));
    }
}
