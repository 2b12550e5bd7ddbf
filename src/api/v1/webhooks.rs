//! `/v1/webhooks`: endpoints that hear the account's events, signed as the Standard Webhooks
//! spec says (README "Webhooks"). Admin tokens only (see `scope_of`).

use axum::extract::Path;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Caller, JsonBody, Rest, RestError, created, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{DeliveryAttempt, Webhook};
use crate::service::{TestResult, WebhookRequest, WebhookUpdateRequest};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate))
        .routes(routes!(test))
        .routes(routes!(deliveries))
        .routes(routes!(replay))
}

/// The `{webhook_id}` of the path (a number; anything else is no such endpoint).
fn id(webhook_id: &str) -> Result<i64, RestError> {
    webhook_id
        .parse::<i64>()
        .map_err(|_| RestError(ApiError::NoSuchResource))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = NewWebhook)]
pub struct WebhookBody {
    /// Where events are POSTed: `https://` (or `http://` with WEBHOOK_ALLOW_HTTP), at most
    /// 2048 characters, resolving to public addresses only (unless WEBHOOK_ALLOW_PRIVATE).
    #[schema(required, value_type = String, example = "https://crm.example.com/hooks/agentprofile")]
    url: Option<String>,
    /// Event kinds (`break.start`) or families (`break.*`) to hear, at most 50; absent or
    /// empty: every event.
    #[schema(example = json!(["break.*", "call.start"]))]
    events: Option<Vec<String>>,
    /// A note, at most 500 characters.
    description: Option<String>,
}

/// An endpoint and its signing secret (`whsec_…`), shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// Verify each delivery's `webhook-signature` with it (README "Webhooks").
    secret: String,
    #[serde(flatten)]
    webhook: Webhook,
}

/// The account's endpoints, oldest first; never their secrets.
#[utoipa::path(get, path = "/v1/webhooks", operation_id = "listWebhooks",
    responses((status = 200, body = SuccessEnvelope<Vec<Webhook>>, description = "The endpoints")),
)]
pub async fn list(caller: Caller) -> Rest<Vec<Webhook>> {
    Ok(ok(caller.service().webhooks(&caller.account).await?))
}

/// Registers an endpoint: it hears the account's events from now on.
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "createWebhook",
    request_body = WebhookBody,
    responses(
        (status = 201, body = SuccessEnvelope<CreatedWebhook>, description = "The endpoint and its secret, shown once"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `url`; 1530 a URL not allowed; \
            1531 a URL resolving to a private address; 1532 an unknown event kind; 1000 too \
            many filters or a description too long"),
    ),
)]
pub async fn create(caller: Caller, JsonBody(body): JsonBody<WebhookBody>) -> Rest<CreatedWebhook> {
    let request = WebhookRequest {
        url: body.url.unwrap_or_default(),
        description: body.description,
        events: body.events,
    };
    let (webhook, secret) = caller
        .service()
        .create_webhook(&caller.account, request, caller.now)
        .await?;
    Ok(created(CreatedWebhook { secret, webhook }))
}

/// One endpoint of the account; never its secret.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}", operation_id = "getWebhook",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    responses(
        (status = 200, body = SuccessEnvelope<Webhook>, description = "The endpoint"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
    ),
)]
pub async fn get(caller: Caller, Path(webhook_id): Path<String>) -> Rest<Webhook> {
    let id = id(&webhook_id)?;
    Ok(ok(caller.service().webhook(&caller.account, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = WebhookPatch)]
pub struct WebhookPatch {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
    /// `false` stops deliveries; `true` starts them again from where they stopped.
    enabled: Option<bool>,
}

/// Changes an endpoint; absent fields are kept.
#[utoipa::path(patch, path = "/v1/webhooks/{webhook_id}", operation_id = "updateWebhook",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    request_body = WebhookPatch,
    responses(
        (status = 200, body = SuccessEnvelope<Webhook>, description = "The endpoint, changed"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
        (status = 422, body = ErrorEnvelope, description = "1530, 1531, 1532, 1000 as for a new one"),
    ),
)]
pub async fn update(
    caller: Caller,
    Path(webhook_id): Path<String>,
    JsonBody(patch): JsonBody<WebhookPatch>,
) -> Rest<Webhook> {
    let id = id(&webhook_id)?;
    let request = WebhookUpdateRequest {
        url: patch.url,
        description: patch.description,
        events: patch.events,
        enabled: patch.enabled,
    };
    let updated = caller
        .service()
        .update_webhook(&caller.account, id, request)
        .await?;
    Ok(ok(updated))
}

/// What a deletion answers.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    id: i64,
    deleted: bool,
}

/// Deletes an endpoint: no more deliveries to it.
#[utoipa::path(delete, path = "/v1/webhooks/{webhook_id}", operation_id = "deleteWebhook",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>, description = "Deleted"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
    ),
)]
pub async fn delete(caller: Caller, Path(webhook_id): Path<String>) -> Rest<Deleted> {
    let id = id(&webhook_id)?;
    caller.service().delete_webhook(&caller.account, id).await?;
    Ok(ok(Deleted { id, deleted: true }))
}

/// A new signing secret, shown this once; the replaced one keeps signing beside it for 24
/// hours (both signatures are sent, space-separated), so receivers can switch unhurried.
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}/rotate", operation_id = "rotateWebhookSecret",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    responses(
        (status = 200, body = SuccessEnvelope<CreatedWebhook>, description = "The endpoint and its new secret"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
    ),
)]
pub async fn rotate(caller: Caller, Path(webhook_id): Path<String>) -> Rest<CreatedWebhook> {
    let id = id(&webhook_id)?;
    let (webhook, secret) = caller
        .service()
        .rotate_webhook_secret(&caller.account, id, caller.now)
        .await?;
    Ok(ok(CreatedWebhook { secret, webhook }))
}

/// Sends a `webhook.test` message now, signed like every delivery, and answers what the
/// endpoint made of it (HTTP 200 either way; it moves no cursor).
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}/test", operation_id = "testWebhook",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    responses(
        (status = 200, body = SuccessEnvelope<TestResult>, description = "What the endpoint answered"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
    ),
)]
pub async fn test(caller: Caller, Path(webhook_id): Path<String>) -> Rest<TestResult> {
    let id = id(&webhook_id)?;
    let result = caller
        .service()
        .test_webhook(&caller.account, id, caller.now)
        .await?;
    Ok(ok(result))
}

/// The endpoint's recent delivery attempts (up to 100), newest first: each with its event,
/// result, HTTP status, latency and, after a failure, the next try.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}/deliveries", operation_id = "listWebhookDeliveries",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<DeliveryAttempt>>, description = "Recent attempts"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
    ),
)]
pub async fn deliveries(
    caller: Caller,
    Path(webhook_id): Path<String>,
) -> Rest<Vec<DeliveryAttempt>> {
    let id = id(&webhook_id)?;
    let attempts = caller
        .service()
        .webhook_attempts(&caller.account, id)
        .await?;
    Ok(ok(attempts))
}

#[derive(Deserialize, ToSchema)]
#[schema(as = WebhookReplay)]
pub struct ReplayBody {
    /// The id of the first event to deliver again (1 or more).
    #[schema(required, value_type = i64, minimum = 1)]
    from: Option<i64>,
}

/// Delivers the account's events again, in order, from the event `from` (its failed
/// attempts are forgotten; a disabled endpoint is enabled with PATCH).
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}/replay", operation_id = "replayWebhook",
    params(("webhook_id" = i64, Path, description = "The endpoint's `id`")),
    request_body = ReplayBody,
    responses(
        (status = 200, body = SuccessEnvelope<Webhook>, description = "The endpoint, its cursor moved"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such endpoint in this account"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `from`; 1000 a `from` below 1"),
    ),
)]
pub async fn replay(
    caller: Caller,
    Path(webhook_id): Path<String>,
    JsonBody(body): JsonBody<ReplayBody>,
) -> Rest<Webhook> {
    let id = id(&webhook_id)?;
    let from = body.from.ok_or(ApiError::Missing(vec!["from"]))?;
    let replayed = caller
        .service()
        .replay_webhook(&caller.account, id, from)
        .await?;
    Ok(ok(replayed))
}
