//! Accounts and their API tokens.

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use crate::domain::{
    Account, AccountToken, NewAccount, NewToken, Token, WrapPolicy, default_break_reasons,
};

#[async_trait]
pub trait Accounts: Send + Sync {
    /// True when no account exists yet (a brand-new database).
    async fn is_empty(&self) -> Result<bool>;
    /// Creates the account with its default break reasons; `Conflict` when the id is taken.
    async fn create_account(&self, new: &NewAccount, now: i64) -> Result<Account>;
    async fn account(&self, user_id: &str) -> Result<Option<Account>>;
    async fn set_suspended(&self, account_pk: i64, suspended: bool) -> Result<Account>;
    async fn set_account_wrap_policy(&self, account_pk: i64, wrap: WrapPolicy) -> Result<Account>;
    /// Sets the account's time zone (an IANA name the caller has checked).
    async fn set_account_time_zone(&self, account_pk: i64, time_zone: &str) -> Result<Account>;
    async fn create_token(&self, account_pk: i64, new: &NewToken<'_>, now: i64) -> Result<Token>;
    /// The token of this hash and its account, revoked or expired ones too.
    async fn token_account(&self, token_hash: &str) -> Result<Option<(Account, Token)>>;
    /// The account's tokens, newest first.
    async fn tokens(&self, account_pk: i64) -> Result<Vec<Token>>;
    /// Revokes a token of the account (kept as it was when already revoked); None: no such token.
    async fn revoke_token(&self, token: AccountToken, now: i64) -> Result<Option<Token>>;
    /// Notes that the token authenticated a request at `now`.
    async fn touch_token(&self, token_pk: i64, now: i64) -> Result<()>;
}

/// `Account`'s columns, named so that they never clash with an agent's or a token's in a
/// join (as `LIVE_AGENT`, `SESSION_BY_HASH` and `TOKEN_BY_HASH` join them).
const ACCOUNT_COLUMNS: &str = "id AS account_pk, user_id, name AS account_name, \
    suspended, wrap_seconds AS account_wrap_seconds, wrap_mode AS account_wrap_mode, \
    time_zone AS account_time_zone";

const CREATE_TOKEN: &str =
    "INSERT INTO api_tokens (account_pk, token_hash, scope, label, expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING id, scope, label, created_at, expires_at, last_used_at, revoked_at";

const ACCOUNT_TOKENS: &str =
    "SELECT id, scope, label, created_at, expires_at, last_used_at, revoked_at
     FROM api_tokens WHERE account_pk = $1 ORDER BY id DESC";

/// Revokes the account's (`$1`) token `$2` at `$3`, unless it already was.
const REVOKE_TOKEN: &str = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3)
     WHERE account_pk = $1 AND id = $2
     RETURNING id, scope, label, created_at, expires_at, last_used_at, revoked_at";

/// The token of the hash `$1`, and its account, as [`TokenRow`] reads them.
const TOKEN_BY_HASH: &str = "SELECT t.id, t.scope, t.label, t.created_at, t.expires_at,
        t.last_used_at, t.revoked_at, a.id AS account_pk, a.user_id, a.name AS account_name,
        a.suspended, a.wrap_seconds AS account_wrap_seconds, a.wrap_mode AS account_wrap_mode,
        a.time_zone AS account_time_zone
     FROM api_tokens t JOIN accounts a ON a.id = t.account_pk
     WHERE t.token_hash = $1";

/// The token of the id `$1`, and its account, as [`TokenRow`] reads them.
pub(super) const TOKEN_BY_ID: &str = "SELECT t.id, t.scope, t.label, t.created_at, t.expires_at,
        t.last_used_at, t.revoked_at, a.id AS account_pk, a.user_id, a.name AS account_name,
        a.suspended, a.wrap_seconds AS account_wrap_seconds, a.wrap_mode AS account_wrap_mode,
        a.time_zone AS account_time_zone
     FROM api_tokens t JOIN accounts a ON a.id = t.account_pk
     WHERE t.id = $1";

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    #[sqlx(flatten)]
    token: Token,
    #[sqlx(flatten)]
    account: Account,
}

impl TokenRow {
    pub fn into_parts(self) -> (Account, Token) {
        (self.account, self.token)
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
        tx.account_changed(account_pk);
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
        tx.account_changed(account_pk);
        tx.commit().await?;
        Ok(account)
    }

    async fn set_account_time_zone(&self, account_pk: i64, time_zone: &str) -> Result<Account> {
        let sql =
            format!("UPDATE accounts SET time_zone = $2 WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}");
        let mut tx = self.begin().await?;
        let account = Sql::<DB>::new(&sql)
            .bind(account_pk)
            .bind(time_zone)
            .fetch_one(&mut *tx)
            .await?;
        tx.account_changed(account_pk);
        tx.commit().await?;
        Ok(account)
    }

    async fn create_token(&self, account_pk: i64, new: &NewToken<'_>, now: i64) -> Result<Token> {
        Sql::<DB>::new(CREATE_TOKEN)
            .bind(account_pk)
            .bind(new.token_hash)
            .bind(new.scope)
            .bind(new.label)
            .bind(new.expires_at)
            .bind(now)
            .fetch_one(&mut *self.conn().await?)
            .await
    }

    async fn tokens(&self, account_pk: i64) -> Result<Vec<Token>> {
        Sql::<DB>::new(ACCOUNT_TOKENS)
            .bind(account_pk)
            .fetch_all(&mut *self.conn().await?)
            .await
    }

    async fn revoke_token(&self, token: AccountToken, now: i64) -> Result<Option<Token>> {
        let AccountToken {
            account_pk,
            token_pk,
        } = token;
        let mut tx = self.begin().await?;
        let token = Sql::<DB>::new(REVOKE_TOKEN)
            .bind(account_pk)
            .bind(token_pk)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        // Its stream tickets go with it.
        Sql::<DB>::new("DELETE FROM stream_tickets WHERE token_pk = $1")
            .bind(token_pk)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn touch_token(&self, token_pk: i64, now: i64) -> Result<()> {
        Sql::<DB>::new(
            "UPDATE api_tokens SET last_used_at = $2
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(token_pk)
        .bind(now)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    async fn token_account(&self, token_hash: &str) -> Result<Option<(Account, Token)>> {
        let row: Option<TokenRow> = Sql::<DB>::new(TOKEN_BY_HASH)
            .bind(token_hash)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map(TokenRow::into_parts))
    }
}
