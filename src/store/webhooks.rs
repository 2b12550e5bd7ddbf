//! Webhook endpoints: their rows (with each one's cursor into `events`), the deliverer's
//! progress (`webhook_progress.rs`), the endpoint it disables with its `webhook.disabled`
//! event (durably, unlike progress), and the recent attempts.

use async_trait::async_trait;

use super::backend::{Backend, Sql};
use super::sql::SqlStore;
use super::webhook_progress::{Progress, insert_attempts, trim};
use super::{Result, StoreError};
use crate::domain::{
    Actor, DeliveryAttempt, EventDetails, NewWebhook, Webhook, WebhookTarget, WebhookUpdate,
};

#[async_trait]
pub trait Webhooks: Send + Sync {
    async fn create_webhook(&self, account_pk: i64, new: &NewWebhook, now: i64) -> Result<Webhook>;
    /// The account's endpoints, oldest first.
    async fn webhooks(&self, account_pk: i64) -> Result<Vec<Webhook>>;
    /// One endpoint of the account, with its secrets.
    async fn webhook(&self, account_pk: i64, id: i64) -> Result<Option<WebhookTarget>>;
    async fn update_webhook(
        &self,
        account_pk: i64,
        id: i64,
        update: &WebhookUpdate,
    ) -> Result<Option<Webhook>>;
    async fn delete_webhook(&self, account_pk: i64, id: i64) -> Result<bool>;
    /// A new secret; the current one keeps signing beside it until `until`.
    async fn rotate_webhook_secret(
        &self,
        account_pk: i64,
        id: i64,
        secret: &str,
        until: i64,
    ) -> Result<Option<Webhook>>;
    /// Delivers again from the event `from` (the cursor goes to `from - 1`), retries reset.
    async fn replay_webhook(&self, account_pk: i64, id: i64, from: i64) -> Result<Option<Webhook>>;
    /// The endpoint's recent attempts, newest first.
    async fn webhook_attempts(&self, webhook: i64, limit: i64) -> Result<Vec<DeliveryAttempt>>;
    /// The enabled endpoints of the account (of every account with None), by id: the
    /// deliverer's work.
    async fn enabled_webhooks(&self, account_pk: Option<i64>) -> Result<Vec<WebhookTarget>>;
    /// Records runs' attempts and moves their cursors, in one transaction that is not durable
    /// when answered (see `webhook_progress.rs`); for each, false if its cursor had moved
    /// since it was read (a replay, another deliverer): nothing of it is written then.
    async fn record_progress(&self, runs: &[Progress]) -> Result<Vec<bool>>;
    /// Disables the endpoint with its `webhook.disabled` event (after its last attempt),
    /// recording the run as `record_progress` does; false if the cursor had moved.
    async fn disable_webhook(
        &self,
        progress: &Progress,
        details: EventDetails,
        at: i64,
    ) -> Result<bool>;
    /// How many of the account's events come after `cursor`.
    async fn events_after(&self, account_pk: i64, cursor: i64) -> Result<i64>;
}

#[derive(sqlx::FromRow)]
pub struct WebhookRow {
    id: i64,
    account_pk: i64,
    url: String,
    description: String,
    events: String,
    enabled: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_until: Option<i64>,
    cursor: i64,
    attempts: i64,
    next_try_ms: Option<i64>,
    created_at: i64,
}

impl From<WebhookRow> for WebhookTarget {
    fn from(r: WebhookRow) -> WebhookTarget {
        WebhookTarget {
            webhook: Webhook {
                id: r.id,
                url: r.url,
                description: r.description,
                // Written by `create_webhook` from a list: anything else is no filter.
                events: serde_json::from_str(&r.events).unwrap_or_default(),
                enabled: r.enabled,
                cursor: r.cursor,
                attempts: r.attempts,
                next_try_ms: r.next_try_ms,
                previous_secret_until: r.previous_until.filter(|_| r.previous_secret.is_some()),
                created_at: r.created_at,
            },
            account_pk: r.account_pk,
            secret: r.secret,
            previous_secret: r.previous_secret,
        }
    }
}

const COLUMNS: &str = "id, account_pk, url, description, events, enabled, secret, \
     previous_secret, previous_until, cursor, attempts, next_try_ms, created_at";

impl<DB: Backend> SqlStore<DB> {
    async fn one(&self, sql: Sql<'_, DB>) -> Result<Option<WebhookTarget>> {
        let row: Option<WebhookRow> = sql.fetch_optional(&mut *self.conn().await?).await?;
        Ok(row.map(WebhookTarget::from))
    }

    async fn changed(&self, sql: &str, account_pk: i64, id: i64) -> Result<Option<Webhook>> {
        let sql = format!("{sql} WHERE account_pk = $1 AND id = $2 RETURNING {COLUMNS}");
        let found = self.one(Sql::new(&sql).bind(account_pk).bind(id)).await?;
        Ok(found.map(|t| t.webhook))
    }
}

#[async_trait]
impl<DB: Backend> Webhooks for SqlStore<DB> {
    async fn create_webhook(&self, account_pk: i64, new: &NewWebhook, now: i64) -> Result<Webhook> {
        // From the account's newest event: it hears what commits from now on.
        let sql = format!(
            "INSERT INTO webhooks (account_pk, url, description, events, secret, cursor, created_at)
             SELECT $1, $2, $3, $4, $5,
                    (SELECT COALESCE(MAX(id), 0) FROM events WHERE account_pk = $1), $6
             RETURNING {COLUMNS}"
        );
        let events = serde_json::to_string(&new.events).unwrap_or_default();
        let created = self
            .one(
                Sql::new(&sql)
                    .bind(account_pk)
                    .bind(new.url.as_str())
                    .bind(new.description.as_str())
                    .bind(events)
                    .bind(new.secret.as_str())
                    .bind(now),
            )
            .await?;
        created
            .map(|t| t.webhook)
            .ok_or(StoreError::Database(sqlx::Error::RowNotFound))
    }

    async fn webhooks(&self, account_pk: i64) -> Result<Vec<Webhook>> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE account_pk = $1 ORDER BY id");
        let rows: Vec<WebhookRow> = Sql::<DB>::new(&sql)
            .bind(account_pk)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| WebhookTarget::from(r).webhook)
            .collect())
    }

    async fn webhook(&self, account_pk: i64, id: i64) -> Result<Option<WebhookTarget>> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE account_pk = $1 AND id = $2");
        self.one(Sql::new(&sql).bind(account_pk).bind(id)).await
    }

    async fn update_webhook(
        &self,
        account_pk: i64,
        id: i64,
        update: &WebhookUpdate,
    ) -> Result<Option<Webhook>> {
        let events = update
            .events
            .as_ref()
            .map(|e| serde_json::to_string(e).unwrap_or_default());
        // Enabling starts afresh: no failed attempts, tried at once.
        let sql = format!(
            "UPDATE webhooks SET url = COALESCE($3, url), description = COALESCE($4, description),
                 events = COALESCE($5, events), enabled = COALESCE($6, enabled),
                 attempts = CASE WHEN $6 AND NOT enabled THEN 0 ELSE attempts END,
                 next_try_ms = CASE WHEN $6 AND NOT enabled THEN NULL ELSE next_try_ms END
             WHERE account_pk = $1 AND id = $2 RETURNING {COLUMNS}"
        );
        let found = self
            .one(
                Sql::new(&sql)
                    .bind(account_pk)
                    .bind(id)
                    .bind(update.url.as_deref())
                    .bind(update.description.as_deref())
                    .bind(events.as_deref())
                    .bind(update.enabled),
            )
            .await?;
        Ok(found.map(|t| t.webhook))
    }

    async fn delete_webhook(&self, account_pk: i64, id: i64) -> Result<bool> {
        let deleted = Sql::<DB>::new("DELETE FROM webhooks WHERE account_pk = $1 AND id = $2")
            .bind(account_pk)
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(deleted > 0)
    }

    async fn rotate_webhook_secret(
        &self,
        account_pk: i64,
        id: i64,
        secret: &str,
        until: i64,
    ) -> Result<Option<Webhook>> {
        let sql = format!(
            "UPDATE webhooks SET previous_secret = secret, previous_until = $4, secret = $3
             WHERE account_pk = $1 AND id = $2 RETURNING {COLUMNS}"
        );
        let found = self
            .one(
                Sql::new(&sql)
                    .bind(account_pk)
                    .bind(id)
                    .bind(secret)
                    .bind(until),
            )
            .await?;
        Ok(found.map(|t| t.webhook))
    }

    async fn replay_webhook(&self, account_pk: i64, id: i64, from: i64) -> Result<Option<Webhook>> {
        let sql = format!(
            "UPDATE webhooks SET cursor = {}, attempts = 0, next_try_ms = NULL",
            (from - 1).max(0)
        );
        self.changed(&sql, account_pk, id).await
    }

    async fn webhook_attempts(&self, webhook: i64, limit: i64) -> Result<Vec<DeliveryAttempt>> {
        Sql::<DB>::new(
            "SELECT id, event_id, attempt, at_ms, ok, status, latency_ms, error, next_try_ms
             FROM webhook_deliveries WHERE webhook_pk = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(webhook)
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await
    }

    async fn enabled_webhooks(&self, account_pk: Option<i64>) -> Result<Vec<WebhookTarget>> {
        let of = if account_pk.is_some() {
            "AND account_pk = $1"
        } else {
            ""
        };
        let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE enabled {of} ORDER BY id");
        let mut query = Sql::<DB>::new(&sql);
        if let Some(account_pk) = account_pk {
            query = query.bind(account_pk);
        }
        let rows: Vec<WebhookRow> = query.fetch_all(&mut *self.conn().await?).await?;
        Ok(rows.into_iter().map(WebhookTarget::from).collect())
    }

    async fn record_progress(&self, runs: &[Progress]) -> Result<Vec<bool>> {
        self.record_runs(runs).await
    }

    async fn disable_webhook(
        &self,
        progress: &Progress,
        details: EventDetails,
        at: i64,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let disabled: Option<(i64,)> = Sql::<DB>::new(
            "UPDATE webhooks SET cursor = $3, attempts = $4, next_try_ms = NULL, enabled = FALSE
             WHERE id = $1 AND cursor = $2 AND enabled RETURNING account_pk",
        )
        .bind(progress.webhook)
        .bind(progress.from_cursor)
        .bind(progress.to_cursor)
        .bind(progress.attempts)
        .fetch_optional(&mut tx)
        .await?;
        let Some((account_pk,)) = disabled else {
            return Ok(false);
        };
        insert_attempts::<DB>(&mut tx, &[progress]).await?;
        trim::<DB>(&mut tx, progress.webhook).await?;
        tx.record_account_event(account_pk, details, Actor::System, at);
        tx.commit().await?;
        Ok(true)
    }

    async fn events_after(&self, account_pk: i64, cursor: i64) -> Result<i64> {
        let (count,): (i64,) =
            Sql::<DB>::new("SELECT COUNT(*) FROM events WHERE account_pk = $1 AND id > $2")
                .bind(account_pk)
                .bind(cursor)
                .fetch_one(&mut *self.conn().await?)
                .await?;
        Ok(count)
    }
}
