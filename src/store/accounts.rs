//! Accounts and their API tokens.

use async_trait::async_trait;

use super::Result;
use crate::domain::{Account, WrapPolicy};

#[async_trait]
pub trait Accounts: Send + Sync {
    /// True when no account exists yet (a brand-new database).
    async fn is_empty(&self) -> Result<bool>;
    /// Creates the account with its default break reasons.
    async fn create_account(
        &self,
        user_id: &str,
        name: &str,
        wrap: WrapPolicy,
        now: i64,
    ) -> Result<Account>;
    async fn account(&self, user_id: &str) -> Result<Option<Account>>;
    async fn set_suspended(&self, account_pk: i64, suspended: bool) -> Result<()>;
    async fn set_account_wrap_policy(&self, account_pk: i64, wrap: WrapPolicy) -> Result<Account>;
    /// Returns the new token's id.
    async fn create_token(&self, account_pk: i64, token_hash: &str, now: i64) -> Result<i64>;
    /// The account owning an unrevoked token of this hash, and the token's id.
    async fn token_account(&self, token_hash: &str) -> Result<Option<(Account, i64)>>;
}

pub(super) const ACCOUNT_COLUMNS: &str = "id, user_id, name, suspended, wrap_seconds, wrap_mode";

#[derive(sqlx::FromRow)]
pub(super) struct TokenAccountRow {
    token_pk: i64,
    #[sqlx(flatten)]
    account: Account,
}

impl From<TokenAccountRow> for (Account, i64) {
    fn from(r: TokenAccountRow) -> Self {
        (r.account, r.token_pk)
    }
}

macro_rules! impl_accounts {
    ($store:ty, $db:ty, $begin:literal) => {
        #[async_trait::async_trait]
        impl $crate::store::Accounts for $store {
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
                wrap: $crate::domain::WrapPolicy,
                now: i64,
            ) -> $crate::store::Result<$crate::domain::Account> {
                let mut tx = self.pool.begin_with($begin).await?;
                let account: $crate::domain::Account = sqlx::query_as(&format!(
                    "INSERT INTO accounts (user_id, name, wrap_seconds, wrap_mode, created_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING {}",
                    $crate::store::accounts::ACCOUNT_COLUMNS
                ))
                .bind(user_id)
                .bind(name)
                .bind(wrap.seconds)
                .bind(wrap.mode.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                for (code, label, limit) in $crate::domain::default_break_reasons() {
                    sqlx::query(
                        "INSERT INTO break_reasons (account_pk, code, label, limit_seconds, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(account.id)
                    .bind(code)
                    .bind(label)
                    .bind(limit)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(account)
            }

            async fn account(
                &self,
                user_id: &str,
            ) -> $crate::store::Result<Option<$crate::domain::Account>> {
                Ok(sqlx::query_as(&format!(
                    "SELECT {} FROM accounts WHERE user_id = $1",
                    $crate::store::accounts::ACCOUNT_COLUMNS
                ))
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

            async fn set_account_wrap_policy(
                &self,
                account_pk: i64,
                wrap: $crate::domain::WrapPolicy,
            ) -> $crate::store::Result<$crate::domain::Account> {
                Ok(sqlx::query_as(&format!(
                    "UPDATE accounts SET wrap_seconds = $2, wrap_mode = $3 WHERE id = $1 RETURNING {}",
                    $crate::store::accounts::ACCOUNT_COLUMNS
                ))
                .bind(account_pk)
                .bind(wrap.seconds)
                .bind(wrap.mode.as_str())
                .fetch_one(&self.pool)
                .await?)
            }

            async fn create_token(
                &self,
                account_pk: i64,
                token_hash: &str,
                now: i64,
            ) -> $crate::store::Result<i64> {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO api_tokens (account_pk, token_hash, created_at) VALUES ($1, $2, $3)
                     RETURNING id",
                )
                .bind(account_pk)
                .bind(token_hash)
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                Ok(id)
            }

            async fn token_account(
                &self,
                token_hash: &str,
            ) -> $crate::store::Result<Option<($crate::domain::Account, i64)>> {
                let row: Option<$crate::store::accounts::TokenAccountRow> = sqlx::query_as(
                    "SELECT t.id AS token_pk, a.id, a.user_id, a.name, a.suspended, a.wrap_seconds, a.wrap_mode
                     FROM api_tokens t JOIN accounts a ON a.id = t.account_pk
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(Into::into))
            }
        }
    };
}
