//! Each account's break reasons.

use super::{OnConflict, Result, Service, ServiceError, at_least, required};
use crate::domain::{Account, BreakReason, NewReason, ReasonUpdate, now_unix};

impl Service {
    pub async fn reasons(&self, account: &Account) -> Result<Vec<BreakReason>> {
        Ok(self.store.reasons(account.id).await?)
    }

    pub async fn create_reason(&self, account: &Account, new: NewReason) -> Result<BreakReason> {
        let new = NewReason {
            code: required("code", &new.code)?.to_owned(),
            label: required("label", &new.label)?.to_owned(),
            ..new
        };
        at_least("limitSeconds", new.limit_seconds, 1)?;
        self.store
            .create_reason(account.id, &new, now_unix())
            .await
            .on_conflict(ServiceError::AlreadyExists)
    }

    pub async fn update_reason(
        &self,
        account: &Account,
        code: &str,
        update: ReasonUpdate,
    ) -> Result<BreakReason> {
        at_least("limitSeconds", update.limit_seconds.flatten(), 1)?;
        let label = match update.label {
            Some(label) => Some(required("label", &label)?.to_owned()),
            None => None,
        };
        let update = ReasonUpdate { label, ..update };
        self.store
            .update_reason(account.id, code, &update)
            .await?
            .ok_or(ServiceError::NotFound)
    }
}
