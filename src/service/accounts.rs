//! Accounts and their API tokens.

use super::{OnConflict, Result, Service, ServiceError, at_least, required};
use crate::domain::{Account, WrapMode, WrapPolicy, now_unix};
use crate::secrets;
use crate::store::NewAccount;

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

    /// Returns the new token; only its hash is kept.
    pub async fn create_token(&self, account: &Account) -> Result<String> {
        let token = secrets::new_token();
        self.store
            .create_token(account.id, &secrets::hash(&token), now_unix())
            .await?;
        Ok(token)
    }

    /// The account an API token belongs to, and the token's id.
    pub async fn token_account(&self, token: &str) -> Result<Option<(Account, i64)>> {
        Ok(self.store.token_account(&secrets::hash(token)).await?)
    }
}
