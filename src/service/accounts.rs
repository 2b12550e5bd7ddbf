//! Accounts and their API tokens.

use super::{Found, OnConflict, Result, Service, ServiceError, at_least, required};
use crate::domain::{
    Account, AccountToken, NewAccount, NewToken, Scope, Token, WrapMode, WrapPolicy, now_unix,
};
use crate::secrets;

/// How stale a token's `last_used_at` may get: it is written at most this often per token.
const LAST_USED_RESOLUTION_SECS: i64 = 60;

/// Longest a token label may be.
const MAX_LABEL_CHARS: usize = 200;

/// What a new token may do, and for how long.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub scope: Scope,
    pub label: String,
    /// Seconds from now; None: it does not expire.
    pub expires_in: Option<i64>,
}

impl Service {
    /// True on a brand-new database.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.store.is_empty().await?)
    }

    /// Creates an account with the default wrap-up policy and break reasons.
    pub async fn create_account(&self, user_id: &str, name: &str) -> Result<Account> {
        let user_id = required("USER_ID", user_id)?;
        let new = NewAccount {
            user_id: user_id.to_owned(),
            name: name.trim().to_owned(),
            wrap: WrapPolicy {
                seconds: self.config.default_wrap_seconds,
                mode: WrapMode::Timed,
            },
        };
        self.store
            .create_account(&new, now_unix())
            .await
            .on_conflict(ServiceError::AlreadyExists)
    }

    pub async fn account(&self, user_id: &str) -> Result<Account> {
        self.store
            .account(user_id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    pub async fn set_suspended(&self, account: &Account, suspended: bool) -> Result<Account> {
        Ok(self.store.set_suspended(account.id, suspended).await?)
    }

    /// Changes the account's default wrap-up policy; what is not given stays.
    pub async fn set_wrap_policy(
        &self,
        account: &Account,
        seconds: Option<i64>,
        mode: Option<WrapMode>,
    ) -> Result<Account> {
        at_least("wrapSeconds", seconds, 0)?;
        let current = account.wrap_policy();
        let wrap = WrapPolicy {
            seconds: seconds.unwrap_or(current.seconds),
            mode: mode.unwrap_or(current.mode),
        };
        Ok(self.store.set_account_wrap_policy(account.id, wrap).await?)
    }

    /// Returns the new token, shown this once (only its hash is kept), and what is listed of it.
    pub async fn create_token(
        &self,
        account: &Account,
        request: &TokenRequest,
    ) -> Result<(String, Token)> {
        at_least("expiresIn", request.expires_in, 1)?;
        let label = request.label.trim();
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(ServiceError::OutOfRange("label"));
        }
        let now = now_unix();
        let token = secrets::new_token();
        let new = NewToken {
            token_hash: &secrets::hash(&token),
            scope: request.scope,
            label,
            expires_at: request.expires_in.map(|secs| now.saturating_add(secs)),
        };
        let listed = self.store.create_token(account.id, &new, now).await?;
        Ok((token, listed))
    }

    /// The account's tokens, newest first (never the tokens themselves).
    pub async fn tokens(&self, account: &Account) -> Result<Vec<Token>> {
        Ok(self.store.tokens(account.id).await?)
    }

    /// Revokes one of the account's tokens at once, on every instance (tokens are looked up
    /// in the database on each request).
    pub async fn revoke_token(&self, account: &Account, token_pk: i64) -> Result<Token> {
        let token = AccountToken {
            account_pk: account.id,
            token_pk,
        };
        self.store
            .revoke_token(token, now_unix())
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The account an API token belongs to, and the token, if it works now.
    pub async fn token_account(&self, token: &str, now: i64) -> Result<Found<(Account, Token)>> {
        let found = self.store.token_account(&secrets::hash(token)).await?;
        Ok(self.usable_token(found, now))
    }

    /// Valid when the token works at `now`; notes its use (at most once a minute, off the
    /// request's path: a lost note costs only the last-used time's precision).
    pub(super) fn usable_token(
        &self,
        found: Option<(Account, Token)>,
        now: i64,
    ) -> Found<(Account, Token)> {
        let Some((account, token)) = found else {
            return Found::Unknown;
        };
        if !token.is_usable(now) {
            return Found::Stale;
        }
        if token
            .last_used_at
            .is_none_or(|at| at <= now - LAST_USED_RESOLUTION_SECS)
        {
            let store = self.store.clone();
            let id = token.id;
            tokio::spawn(async move {
                if let Err(err) = store.touch_token(id, now).await {
                    tracing::warn!(error = %err, token = id, "cannot note a token's last use");
                }
            });
        }
        Found::Valid((account, token))
    }
}
