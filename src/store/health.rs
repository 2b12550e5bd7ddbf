//! Whether the database can be reached, known without asking it on every request.
//!
//! A probe on a connection of its own asks the database every [`PROBE_EVERY`]. While it
//! fails, the store refuses at once (`StoreError::Down`, answered 1010 with HTTP 503)
//! instead of letting each request wait out `DB_ACQUIRE_TIMEOUT_SECS` on the pool, and
//! requests already waiting for a connection are refused too. The first probe that
//! succeeds opens the store again: no restart, and at most one probe interval late.

use std::future::Future;
use std::time::Duration;

use sqlx::{Connection, Database, Pool};
use tokio::sync::watch;

use super::StoreError;

/// How often the probe asks, up or down.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// A probe that takes longer than this failed: a database that slow cannot serve requests
/// either, and an unreachable host may never answer a connection attempt at all.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub struct Health {
    /// True while the last probe failed.
    down: watch::Sender<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            down: watch::Sender::new(false),
        }
    }
}

impl Health {
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// What the last probe found; the changes are logged.
    pub fn probed(&self, result: Result<(), String>) {
        let down = result.is_err();
        let changed = self
            .down
            .send_if_modified(|was| std::mem::replace(was, down) != down);
        match result {
            Err(err) if changed => tracing::error!(
                error = %err,
                "database unreachable: answering 1010 until a probe reaches it again"
            ),
            Ok(()) if changed => tracing::warn!("database reachable again"),
            _ => {}
        }
    }

    /// Runs `work` (taking a connection) unless the database is known unreachable, or
    /// becomes so before `work` is done.
    pub async fn unless_down<T>(
        &self,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut down = self.down.subscribe();
        if *down.borrow_and_update() {
            return Err(StoreError::Down);
        }
        tokio::select! {
            biased;
            result = work => result,
            // The sender lives as long as the store: wait_for ends only when it goes down.
            Ok(_) = down.wait_for(|down| *down) => Err(StoreError::Down),
        }
    }
}

/// Probes the database of `pool` on a connection of its own (a busy pool must not make it
/// look down), keeping `health` current, for as long as it is polled.
pub(super) async fn watch<DB: Database>(pool: &Pool<DB>, health: &Health) {
    let options = pool.connect_options();
    let mut probe: Option<DB::Connection> = None;
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let asked = tokio::time::timeout(PROBE_TIMEOUT, async {
            let conn = match &mut probe {
                Some(conn) => conn,
                None => probe.insert(DB::Connection::connect_with(&*options).await?),
            };
            conn.ping().await
        })
        .await;
        let result = match asked {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
        };
        if result.is_err() {
            // A new connection next time: this one may be dead or half-open.
            probe = None;
        }
        health.probed(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_probe_refuses_new_and_waiting_work_until_one_succeeds() {
        let health = std::sync::Arc::new(Health::default());
        assert_eq!(health.unless_down(async { Ok(1) }).await.unwrap(), 1);

        // Work that waits (a connection that does not come) is refused when a probe fails.
        let waiting = tokio::spawn({
            let health = health.clone();
            async move {
                health
                    .unless_down(std::future::pending::<Result<(), StoreError>>())
                    .await
            }
        });
        tokio::task::yield_now().await;
        health.probed(Err("refused".into()));
        assert!(matches!(waiting.await.unwrap(), Err(StoreError::Down)));
        assert!(health.is_down());
        assert!(matches!(
            health.unless_down(async { Ok(()) }).await,
            Err(StoreError::Down)
        ));

        health.probed(Ok(()));
        assert!(!health.is_down());
        assert_eq!(health.unless_down(async { Ok(2) }).await.unwrap(), 2);
    }
}
