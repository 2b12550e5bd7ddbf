//! Accounts and their API tokens.

use async_trait::async_trait;

use super::Result;
use super::sql::{Backend, Sql, SqlStore};
use crate::domain::{Account, WrapPolicy, default_break_reasons};

/// A new account, with its default wrap-up policy.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user_id: String,
    pub name: String,
    pub wrap: WrapPolicy,
}

#[async_trait]
pub trait Accounts: Send + Sync {
    /// True when no account exists yet (a brand-new database).
    async fn is_empty(&self) -> Result<bool>;
    /// Creates the account with its default break reasons; `Conflict` when the id is taken.
    async fn create_account(&self, new: &NewAccount, now: i64) -> Result<Account>;
    async fn account(&self, user_id: &str) -> Result<Option<Account>>;
    async fn set_suspended(&self, account_pk: i64, suspended: bool) -> Result<Account>;
    async fn set_account_wrap_policy(&self, account_pk: i64, wrap: WrapPolicy) -> Result<Account>;
    /// Returns the new token's id.
    async fn create_token(&self, account_pk: i64, token_hash: &str, now: i64) -> Result<i64>;
    /// The account owning an unrevoked token of this hash, and the token's id.
    async fn token_account(&self, token_hash: &str) -> Result<Option<(Account, i64)>>;
}

/// `Account`'s columns, named so that they never clash with an agent's in a join.
pub(super) const ACCOUNT_COLUMNS: &str = "id AS account_id, user_id, name AS account_name, \
    suspended, wrap_seconds AS account_wrap_seconds, wrap_mode AS account_wrap_mode";

/// The token (`token_pk`) and its account, for the unrevoked token that `condition` on
/// `api_tokens t` selects.
pub(super) fn token_account_sql(condition: &str) -> String {
    format!(
        "SELECT t.id AS token_pk, a.*
         FROM api_tokens t JOIN (SELECT {ACCOUNT_COLUMNS} FROM accounts) a
           ON a.account_id = t.account_pk
         WHERE {condition} AND t.revoked_at IS NULL"
    )
}

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    token_pk: i64,
    #[sqlx(flatten)]
    account: Account,
}

impl TokenRow {
    /// The account, and the token's id.
    pub fn into_parts(self) -> (Account, i64) {
        (self.account, self.token_pk)
    }
}

#[async_trait]
impl<DB: Backend> Accounts for SqlStore<DB> {
    async fn is_empty(&self) -> Result<bool> {
        let row: Option<(i64,)> = Sql::<DB>::new("SELECT id FROM accounts LIMIT 1")
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.is_none())
    }

    async fn create_account(&self, new: &NewAccount, now: i64) -> Result<Account> {
        let mut tx = self.begin().await?;
        let sql = format!(
            "INSERT INTO accounts (user_id, name, wrap_seconds, wrap_mode, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING {ACCOUNT_COLUMNS}"
        );
        let account: Account = Sql::<DB>::new(&sql)
            .bind(new.user_id.as_str())
            .bind(new.name.as_str())
            .bind(new.wrap.seconds)
            .bind(new.wrap.mode)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        for (code, label, limit) in default_break_reasons() {
            Sql::<DB>::new(
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

    async fn account(&self, user_id: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1");
        Sql::<DB>::new(&sql)
            .bind(user_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    async fn set_suspended(&self, account_pk: i64, suspended: bool) -> Result<Account> {
        let sql =
            format!("UPDATE accounts SET suspended = $2 WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}");
        let mut tx = self.begin().await?;
        let account = Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(suspended)
            .fetch_one(&mut *tx)
            .await?;
        tx.changed(account_pk, None);
        tx.commit().await?;
        Ok(account)
    }

    async fn set_account_wrap_policy(&self, account_pk: i64, wrap: WrapPolicy) -> Result<Account> {
        let sql = format!(
            "UPDATE accounts SET wrap_seconds = $2, wrap_mode = $3 WHERE id = $1
             RETURNING {ACCOUNT_COLUMNS}"
        );
        let mut tx = self.begin().await?;
        let account = Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(wrap.seconds)
            .bind(wrap.mode)
            .fetch_one(&mut *tx)
            .await?;
        tx.changed(account_pk, None);
        tx.commit().await?;
        Ok(account)
    }

    async fn create_token(&self, account_pk: i64, token_hash: &str, now: i64) -> Result<i64> {
        let (id,): (i64,) = Sql::<DB>::new(
            "INSERT INTO api_tokens (account_pk, token_hash, created_at) VALUES ($1, $2, $3)
             RETURNING id",
        )
        .bind(account_pk)
        .bind(token_hash)
        .bind(now)
        .fetch_one(&mut *self.conn().await?)
        .await?;
        Ok(id)
    }

    async fn token_account(&self, token_hash: &str) -> Result<Option<(Account, i64)>> {
        let row: Option<TokenRow> = Sql::<DB>::new(&token_account_sql("t.token_hash = $1"))
            .bind(token_hash)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(TokenRow::into_parts))
    }
}
