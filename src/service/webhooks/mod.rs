//! Webhooks: the endpoints an account registers (checked: the scheme, the addresses the
//! name resolves to, the event filters), their secrets (shown once, rotated with a day of
//! overlap), a test send, a replay, and the deliverer (`deliver.rs`) that posts each
//! account's events to them, in order, at least once.

mod client;
mod deliver;
mod endpoint;
mod progress;
mod sender;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Result, Service, ServiceError};
use crate::domain::{
    Account, DeliveryAttempt, NewWebhook, SECRET_OVERLAP_SECS, WEBHOOK_DESCRIPTION_MAX,
    WEBHOOK_FILTERS_MAX, WEBHOOK_URL_MAX, Webhook, WebhookUpdate, is_known_filter, is_private_ip,
};
use crate::secrets;

/// Attempts listed by `GET /v1/webhooks/{id}/deliveries` at most.
pub const ATTEMPTS_LISTED: i64 = 100;

/// A new endpoint as asked for, unchecked.
#[derive(Debug, Clone, Default)]
pub struct WebhookRequest {
    pub url: String,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
}

/// What a test send to an endpoint found.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// The endpoint answered 2xx.
    pub ok: bool,
    /// The HTTP status it answered; null when none (refused, timed out).
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
}

impl Service {
    /// The URL as it will be kept: absolute, `https` (or `http` with WEBHOOK_ALLOW_HTTP), no
    /// credentials in it, and (unless WEBHOOK_ALLOW_PRIVATE) a host that resolves only to
    /// public addresses. The deliverer checks the addresses again at each connection.
    async fn checked_url(&self, url: &str) -> Result<String> {
        let url = url.trim();
        if url.is_empty() {
            return Err(ServiceError::Missing("url"));
        }
        if url.chars().count() > WEBHOOK_URL_MAX {
            return Err(ServiceError::WebhookUrl("is too long"));
        }
        let parsed = url::Url::parse(url).map_err(|_| ServiceError::WebhookUrl("is not a URL"))?;
        let allowed = match parsed.scheme() {
            "https" => true,
            "http" => self.config.webhook_allow_http,
            _ => false,
        };
        if !allowed {
            return Err(ServiceError::WebhookUrl("must be https"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(ServiceError::WebhookUrl("must not hold credentials"));
        }
        let Some(host) = parsed.host_str() else {
            return Err(ServiceError::WebhookUrl("has no host"));
        };
        if !self.config.webhook_allow_private {
            if client::names_private_ip(&parsed) {
                return Err(ServiceError::WebhookPrivate);
            }
            let port = parsed.port_or_known_default().unwrap_or(443);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            // A name that does not resolve now may later: only what it resolves to is refused.
            if let Ok(found) = tokio::net::lookup_host((host, port)).await {
                if found.into_iter().any(|a| is_private_ip(a.ip())) {
                    return Err(ServiceError::WebhookPrivate);
                }
            }
        }
        Ok(parsed.to_string())
    }

    fn checked_description(description: Option<String>) -> Result<Option<String>> {
        match description.map(|d| d.trim().to_owned()) {
            Some(d) if d.chars().count() > WEBHOOK_DESCRIPTION_MAX => {
                Err(ServiceError::OutOfRange("description"))
            }
            other => Ok(other),
        }
    }

    fn checked_filters(events: Vec<String>) -> Result<Vec<String>> {
        if events.len() > WEBHOOK_FILTERS_MAX {
            return Err(ServiceError::OutOfRange("events"));
        }
        let mut filters: Vec<String> = Vec::new();
        for filter in events {
            let filter = filter.trim().to_owned();
            if !is_known_filter(&filter) {
                return Err(ServiceError::UnknownEventFilter(filter));
            }
            if !filters.contains(&filter) {
                filters.push(filter);
            }
        }
        Ok(filters)
    }

    /// Registers an endpoint; it hears the account's events from now on. Answers it and its
    /// secret, which is shown this once.
    pub async fn create_webhook(
        &self,
        account: &Account,
        request: WebhookRequest,
        now: i64,
    ) -> Result<(Webhook, String)> {
        let new = NewWebhook {
            url: self.checked_url(&request.url).await?,
            description: Self::checked_description(request.description)?.unwrap_or_default(),
            events: Self::checked_filters(request.events.unwrap_or_default())?,
            secret: secrets::new_webhook_secret(),
        };
        let webhook = self.store.create_webhook(account.id, &new, now).await?;
        Ok((webhook, new.secret))
    }

    pub async fn webhooks(&self, account: &Account) -> Result<Vec<Webhook>> {
        Ok(self.store.webhooks(account.id).await?)
    }

    pub async fn webhook(&self, account: &Account, id: i64) -> Result<Webhook> {
        let found = self.store.webhook(account.id, id).await?;
        found.map(|t| t.webhook).ok_or(ServiceError::NotFound)
    }

    /// Changes an endpoint's URL, description, filters or whether it is enabled.
    pub async fn update_webhook(
        &self,
        account: &Account,
        id: i64,
        request: WebhookUpdateRequest,
    ) -> Result<Webhook> {
        let url = match request.url {
            Some(url) => Some(self.checked_url(&url).await?),
            None => None,
        };
        let update = WebhookUpdate {
            url,
            description: Self::checked_description(request.description)?,
            events: request.events.map(Self::checked_filters).transpose()?,
            enabled: request.enabled,
        };
        let updated = self.store.update_webhook(account.id, id, &update).await?;
        updated.ok_or(ServiceError::NotFound)
    }

    pub async fn delete_webhook(&self, account: &Account, id: i64) -> Result<()> {
        if self.store.delete_webhook(account.id, id).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound)
        }
    }

    /// A new secret, shown this once; the current one keeps signing beside it for a day.
    pub async fn rotate_webhook_secret(
        &self,
        account: &Account,
        id: i64,
        now: i64,
    ) -> Result<(Webhook, String)> {
        let secret = secrets::new_webhook_secret();
        let until = now + SECRET_OVERLAP_SECS;
        let rotated = self
            .store
            .rotate_webhook_secret(account.id, id, &secret, until)
            .await?;
        Ok((rotated.ok_or(ServiceError::NotFound)?, secret))
    }

    /// Delivers the account's events again from the event `from` (the endpoint's failed
    /// attempts are forgotten; a disabled endpoint stays so until enabled).
    pub async fn replay_webhook(&self, account: &Account, id: i64, from: i64) -> Result<Webhook> {
        if from < 1 {
            return Err(ServiceError::OutOfRange("from"));
        }
        let replayed = self.store.replay_webhook(account.id, id, from).await?;
        replayed.ok_or(ServiceError::NotFound)
    }

    /// The endpoint's recent attempts, newest first.
    pub async fn webhook_attempts(
        &self,
        account: &Account,
        id: i64,
    ) -> Result<Vec<DeliveryAttempt>> {
        self.webhook(account, id).await?;
        Ok(self.store.webhook_attempts(id, ATTEMPTS_LISTED).await?)
    }

    /// Sends a `webhook.test` message to the endpoint now, signed like any delivery, and
    /// answers what it made of it (it moves no cursor).
    pub async fn test_webhook(&self, account: &Account, id: i64, now: i64) -> Result<TestResult> {
        let target = self
            .store
            .webhook(account.id, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let message_id = format!("test_{}", &secrets::new_ssid()[..24]);
        let body = serde_json::json!({
            "type": "webhook.test", "webhook": id, "at": now,
        });
        let client = client::client(&self.config);
        let sent = client::send(
            &client,
            &self.config,
            &target.webhook.url,
            &message_id,
            &target.signing_secrets(now),
            body.to_string().into_bytes(),
        )
        .await;
        Ok(TestResult {
            ok: sent.ok,
            status: sent.status,
            latency_ms: sent.latency_ms,
            error: sent.error,
        })
    }
}

/// A change to an endpoint as asked for, unchecked; absent fields are kept.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdateRequest {
    pub url: Option<String>,
    pub description: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}
