//! Each account's list of break reasons.

use async_trait::async_trait;

use super::Result;
use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use crate::domain::{BreakReason, NewReason, ReasonUpdate};

#[async_trait]
pub trait Reasons: Send + Sync {
    async fn reasons(&self, account_pk: i64) -> Result<Vec<BreakReason>>;
    /// The account's reason whose code (preferred) or label matches, ignoring case.
    async fn reason(&self, account_pk: i64, code_or_label: &str) -> Result<Option<BreakReason>>;
    async fn create_reason(
        &self,
        account_pk: i64,
        new: &NewReason,
        now: i64,
    ) -> Result<BreakReason>;
    async fn update_reason(
        &self,
        account_pk: i64,
        code: &str,
        update: &ReasonUpdate,
    ) -> Result<Option<BreakReason>>;
}

const ACCOUNT_REASONS: &str = "SELECT id, code, label, limit_seconds, active
     FROM break_reasons WHERE account_pk = $1 ORDER BY id";

/// The account's (`$1`) reason whose code or else label is `$2`, ignoring case.
pub(super) const REASON_NAMED: &str =
    "SELECT id, code, label, limit_seconds, active FROM break_reasons
     WHERE account_pk = $1 AND (LOWER(code) = LOWER($2) OR LOWER(label) = LOWER($2))
     ORDER BY CASE WHEN LOWER(code) = LOWER($2) THEN 0 ELSE 1 END, id LIMIT 1";

const CREATE_REASON: &str =
    "INSERT INTO break_reasons (account_pk, code, label, limit_seconds, created_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING id, code, label, limit_seconds, active";

/// `$4`: whether to set the limit, to `$5` (null: none).
const UPDATE_REASON: &str = "UPDATE break_reasons SET label = COALESCE($3, label),
        limit_seconds = CASE WHEN $4 THEN $5 ELSE limit_seconds END,
        active = COALESCE($6, active)
     WHERE account_pk = $1 AND code = $2 RETURNING id, code, label, limit_seconds, active";

#[async_trait]
impl<DB: Backend> Reasons for SqlStore<DB> {
    async fn reasons(&self, account_pk: i64) -> Result<Vec<BreakReason>> {
        Sql::<DB>::new(ACCOUNT_REASONS)
            .bind(account_pk)
            .fetch_all(&mut *self.conn().await?)
            .await
    }

    async fn reason(&self, account_pk: i64, code_or_label: &str) -> Result<Option<BreakReason>> {
        Sql::<DB>::new(REASON_NAMED)
            .bind(account_pk)
            .bind(code_or_label)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }

    async fn create_reason(
        &self,
        account_pk: i64,
        new: &NewReason,
        now: i64,
    ) -> Result<BreakReason> {
        Sql::<DB>::new(CREATE_REASON)
            .bind(account_pk)
            .bind(new.code.as_str())
            .bind(new.label.as_str())
            .bind(new.limit_seconds)
            .bind(now)
            .fetch_one(&mut *self.conn().await?)
            .await
    }

    async fn update_reason(
        &self,
        account_pk: i64,
        code: &str,
        update: &ReasonUpdate,
    ) -> Result<Option<BreakReason>> {
        Sql::<DB>::new(UPDATE_REASON)
            .bind(account_pk)
            .bind(code)
            .bind(update.label.as_deref())
            .bind(update.limit_seconds.is_some())
            .bind(update.limit_seconds.flatten())
            .bind(update.active)
            .fetch_optional(&mut *self.conn().await?)
            .await
    }
}
