//! The SQL both databases run, as one `Store` implementation generated per pool type.
//!
//! A macro rather than a generic impl: sqlx's generic executor bounds would bury these
//! few queries under trait plumbing. `$begin` is how a write transaction starts
//! (SQLite needs `BEGIN IMMEDIATE` to take its write lock up front instead of failing
//! with "database is locked" when two readers try to upgrade at once).

const BREAK_COLUMNS: &str = "reason, limit_seconds, started_at, ended_at";
const WRAP_COLUMNS: &str = "call_id, customer_number, started_at, ends_at, ended_at";

/// Flat row of the session lookup (session, agent and account joined).
#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    session_id: i64,
    last_seen_at: i64,
    expires_at: i64,
    ended_at: Option<i64>,
    agent_pk: i64,
    account_pk: i64,
    agent_id: String,
    agent_name: String,
    wrap_seconds: i64,
    user_id: String,
    account_name: String,
    suspended: bool,
}

impl From<SessionRow> for crate::domain::SessionContext {
    fn from(r: SessionRow) -> Self {
        use crate::domain::{Account, Agent, Session};
        crate::domain::SessionContext {
            session: Session {
                id: r.session_id,
                agent_pk: r.agent_pk,
                last_seen_at: r.last_seen_at,
                expires_at: r.expires_at,
                ended_at: r.ended_at,
            },
            agent: Agent {
                id: r.agent_pk,
                account_pk: r.account_pk,
                agent_id: r.agent_id,
                name: r.agent_name,
                wrap_seconds: r.wrap_seconds,
            },
            account: Account {
                id: r.account_pk,
                user_id: r.user_id,
                name: r.account_name,
                suspended: r.suspended,
            },
        }
    }
}

pub(super) fn break_query(tail: &str) -> String {
    format!("{tail} RETURNING {BREAK_COLUMNS}")
}

pub(super) fn wrap_query(tail: &str) -> String {
    format!("{tail} RETURNING {WRAP_COLUMNS}")
}

pub(super) fn select_open_break() -> String {
    format!("SELECT {BREAK_COLUMNS} FROM breaks WHERE agent_pk = $1 AND ended_at IS NULL")
}

pub(super) fn select_active_wrap() -> String {
    format!(
        "SELECT {WRAP_COLUMNS} FROM wrap_ups
         WHERE agent_pk = $1 AND ended_at IS NULL AND (ends_at IS NULL OR ends_at > $2)"
    )
}

macro_rules! sql_store {
    ($store:ty, $kind:literal, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn kind(&self) -> &'static str {
                $kind
            }

            async fn migrate(&self) -> $crate::store::Result<()> {
                Self::MIGRATOR.run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> $crate::store::Result<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn is_empty(&self) -> $crate::store::Result<bool> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM accounts LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.is_none())
            }

            async fn create_account(
                &self,
                user_id: &str,
                name: &str,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Account> {
                Ok(sqlx::query_as(
                    "INSERT INTO accounts (user_id, name, created_at) VALUES ($1, $2, $3)
                     RETURNING id, user_id, name, suspended",
                )
                .bind(user_id)
                .bind(name)
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn account(
                &self,
                user_id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::Account>> {
                Ok(sqlx::query_as(
                    "SELECT id, user_id, name, suspended FROM accounts WHERE user_id = $1",
                )
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn set_suspended(
                &self,
                account_pk: i64,
                suspended: bool,
            ) -> $crate::store::Result<()> {
                sqlx::query("UPDATE accounts SET suspended = $2 WHERE id = $1")
                    .bind(account_pk)
                    .bind(suspended)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn create_token(
                &self,
                account_pk: i64,
                token_hash: &str,
                now: i64,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO api_tokens (account_pk, token_hash, created_at) VALUES ($1, $2, $3)",
                )
                .bind(account_pk)
                .bind(token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn account_by_token(
                &self,
                user_id: &str,
                token_hash: &str,
            ) -> $crate::store::Result<Option<$crate::domain::Account>> {
                Ok(sqlx::query_as(
                    "SELECT a.id, a.user_id, a.name, a.suspended
                     FROM api_tokens t JOIN accounts a ON a.id = t.account_pk
                     WHERE t.token_hash = $1 AND a.user_id = $2 AND t.revoked_at IS NULL",
                )
                .bind(token_hash)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create_agent(
                &self,
                account_pk: i64,
                agent_id: &str,
                name: &str,
                wrap_seconds: i64,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Agent> {
                Ok(sqlx::query_as(
                    "INSERT INTO agents (account_pk, agent_id, name, wrap_seconds, created_at)
                     VALUES ($1, $2, $3, $4, $5)
                     RETURNING id, account_pk, agent_id, name, wrap_seconds",
                )
                .bind(account_pk)
                .bind(agent_id)
                .bind(name)
                .bind(wrap_seconds)
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn agent(
                &self,
                account_pk: i64,
                agent_id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::Agent>> {
                Ok(sqlx::query_as(
                    "SELECT id, account_pk, agent_id, name, wrap_seconds
                     FROM agents WHERE account_pk = $1 AND agent_id = $2",
                )
                .bind(account_pk)
                .bind(agent_id)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn create_session(
                &self,
                agent_pk: i64,
                ssid_hash: &str,
                now: i64,
                expires_at: i64,
            ) -> $crate::store::Result<()> {
                sqlx::query(
                    "INSERT INTO agent_sessions (agent_pk, ssid_hash, created_at, last_seen_at, expires_at)
                     VALUES ($1, $2, $3, $3, $4)",
                )
                .bind(agent_pk)
                .bind(ssid_hash)
                .bind(now)
                .bind(expires_at)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn session(
                &self,
                ssid_hash: &str,
            ) -> $crate::store::Result<Option<$crate::domain::SessionContext>> {
                let row: Option<$crate::store::sql::SessionRow> = sqlx::query_as(
                    "SELECT s.id AS session_id, s.last_seen_at, s.expires_at, s.ended_at,
                            g.id AS agent_pk, g.account_pk, g.agent_id, g.name AS agent_name,
                            g.wrap_seconds, a.user_id, a.name AS account_name, a.suspended
                     FROM agent_sessions s
                     JOIN agents g ON g.id = s.agent_pk
                     JOIN accounts a ON a.id = g.account_pk
                     WHERE s.ssid_hash = $1",
                )
                .bind(ssid_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn record_ping(
                &self,
                agent_pk: i64,
                session_pk: Option<i64>,
                ping: $crate::store::Ping,
            ) -> $crate::store::Result<()> {
                let mut tx = self.pool.begin_with($begin).await?;
                sqlx::query(
                    "UPDATE agents SET last_ping_at = $2, client_ping_time = $3, mic_perm = $4
                     WHERE id = $1",
                )
                .bind(agent_pk)
                .bind(ping.received_at)
                .bind(ping.client_time)
                .bind(ping.mic_perm.as_str())
                .execute(&mut *tx)
                .await?;
                if let Some(session_pk) = session_pk {
                    sqlx::query(
                        "UPDATE agent_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL",
                    )
                    .bind(session_pk)
                    .bind(ping.received_at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn open_break(
                &self,
                agent_pk: i64,
            ) -> $crate::store::Result<Option<$crate::domain::Break>> {
                Ok(sqlx::query_as(&$crate::store::sql::select_open_break())
                    .bind(agent_pk)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn start_break(
                &self,
                agent_pk: i64,
                reason: &str,
                limit_seconds: Option<i64>,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Break> {
                // The partial unique index refuses a second open break: `Conflict`.
                Ok(sqlx::query_as(&$crate::store::sql::break_query(
                    "INSERT INTO breaks (agent_pk, reason, limit_seconds, started_at)
                     VALUES ($1, $2, $3, $4)",
                ))
                .bind(agent_pk)
                .bind(reason)
                .bind(limit_seconds)
                .bind(now)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn end_break(
                &self,
                agent_pk: i64,
                now: i64,
            ) -> $crate::store::Result<Option<$crate::domain::Break>> {
                Ok(sqlx::query_as(&$crate::store::sql::break_query(
                    "UPDATE breaks SET ended_at = $2 WHERE agent_pk = $1 AND ended_at IS NULL",
                ))
                .bind(agent_pk)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn active_wrap_up(
                &self,
                agent_pk: i64,
                now: i64,
            ) -> $crate::store::Result<Option<$crate::domain::WrapUp>> {
                Ok(sqlx::query_as(&$crate::store::sql::select_active_wrap())
                    .bind(agent_pk)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn start_wrap_up(
                &self,
                agent_pk: i64,
                call_id: &str,
                customer_number: &str,
                now: i64,
                ends_at: Option<i64>,
            ) -> $crate::store::Result<$crate::domain::WrapUp> {
                let mut tx = self.pool.begin_with($begin).await?;
                // A wrap-up that ran out is over: close it at the time it ended.
                sqlx::query(
                    "UPDATE wrap_ups SET ended_at = ends_at
                     WHERE agent_pk = $1 AND ended_at IS NULL AND ends_at <= $2",
                )
                .bind(agent_pk)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let wrap = sqlx::query_as(&$crate::store::sql::wrap_query(
                    "INSERT INTO wrap_ups (agent_pk, call_id, customer_number, started_at, ends_at)
                     VALUES ($1, $2, $3, $4, $5)",
                ))
                .bind(agent_pk)
                .bind(call_id)
                .bind(customer_number)
                .bind(now)
                .bind(ends_at)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(wrap)
            }

            async fn end_wrap_up(
                &self,
                agent_pk: i64,
                now: i64,
            ) -> $crate::store::Result<Option<$crate::domain::WrapUp>> {
                // One that already ran out is closed at its own end time and is not "ended now".
                let closed: Option<$crate::domain::WrapUp> =
                    sqlx::query_as(&$crate::store::sql::wrap_query(
                        "UPDATE wrap_ups
                         SET ended_at = CASE WHEN ends_at IS NOT NULL AND ends_at <= $2 THEN ends_at ELSE $2 END
                         WHERE agent_pk = $1 AND ended_at IS NULL",
                    ))
                    .bind(agent_pk)
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(closed.filter(|w| w.ends_at.is_none_or(|end| end > now)))
            }
        }
    };
}
