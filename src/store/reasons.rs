//! Each account's list of break reasons.

use async_trait::async_trait;

use super::Result;
use super::sql::{Backend, Sql, SqlStore};
use crate::domain::BreakReason;

/// A new break reason; `Conflict` when the account has one of this code.
#[derive(Debug, Clone, Default)]
pub struct NewReason {
    pub code: String,
    pub label: String,
    pub limit_seconds: Option<i64>,
}

/// A partial update of a break reason; `limit_seconds: Some(None)` removes the limit.
#[derive(Debug, Clone, Default)]
pub struct ReasonUpdate {
    pub label: Option<String>,
    pub limit_seconds: Option<Option<i64>>,
    pub active: Option<bool>,
}

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

/// `BreakReason`'s columns.
const REASON_COLUMNS: &str = "id, code, label, limit_seconds, active";

#[async_trait]
impl<DB: Backend> Reasons for SqlStore<DB> {
    async fn reasons(&self, account_pk: i64) -> Result<Vec<BreakReason>> {
        let sql =
            format!("SELECT {REASON_COLUMNS} FROM break_reasons WHERE account_pk = $1 ORDER BY id");
        Sql::<DB>::new(&sql)
            .bind(account_pk)
            .fetch_all(&mut *self.conn().await?)
            .await
    }

    async fn reason(&self, account_pk: i64, code_or_label: &str) -> Result<Option<BreakReason>> {
        let sql = format!(
            "SELECT {REASON_COLUMNS} FROM break_reasons
             WHERE account_pk = $1 AND (LOWER(code) = LOWER($2) OR LOWER(label) = LOWER($2))
             ORDER BY CASE WHEN LOWER(code) = LOWER($2) THEN 0 ELSE 1 END, id LIMIT 1"
        );
        Sql::<DB>::new(&sql)
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
        let sql = format!(
            "INSERT INTO break_reasons (account_pk, code, label, limit_seconds, created_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING {REASON_COLUMNS}"
        );
        Sql::<DB>::new(&sql)
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
        let sql = format!(
            "UPDATE break_reasons SET label = COALESCE($3, label),
                limit_seconds = CASE WHEN $4 THEN $5 ELSE limit_seconds END,
                active = COALESCE($6, active)
             WHERE account_pk = $1 AND code = $2 RETURNING {REASON_COLUMNS}"
        );
        Sql::<DB>::new(&sql)
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
