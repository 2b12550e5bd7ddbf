//! `/v1/agents/{agentId}/tags`: notification tags for an agent, which its frontend fetches
//! with the upstream `tags` route.

use serde::Deserialize;
use utoipa::ToSchema;

use super::{AgentPath, JsonBody, Page, Paged, QueryParams, Rest, created, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{NewTag, Tag, TagAction};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_tag, list_tags))
}

/// A new tag.
#[derive(Deserialize, ToSchema)]
#[schema(as = NewTag)]
pub struct TagBody {
    /// Required, at most 120 characters.
    #[schema(required, value_type = String, example = "Call Mrs. Smith back")]
    title: Option<String>,
    /// At most 1000 characters.
    text: Option<String>,
    /// A short icon name for the frontend (letters, digits, `_-.:`), at most 64 characters,
    /// e.g. `missed_call`.
    icon: Option<String>,
    action: Option<ActionBody>,
}

/// What the frontend may do with the tag: `{"type":"callback","callId","cNumber"?}` or
/// `{"type":"url","url"}` (an absolute http or https address).
#[derive(Deserialize, ToSchema)]
#[schema(as = NewTagAction)]
pub struct ActionBody {
    /// `callback` or `url`.
    #[serde(rename = "type")]
    #[schema(required, value_type = String, example = "callback")]
    kind: Option<String>,
    /// Required with `callback`, at most 128 characters.
    #[serde(rename = "callId")]
    call_id: Option<String>,
    /// With `callback`: the customer's number, at most 128 characters.
    #[serde(rename = "cNumber")]
    c_number: Option<String>,
    /// Required with `url`: an absolute http or https address, at most 2048 characters.
    url: Option<String>,
}

impl ActionBody {
    fn action(self) -> Result<TagAction, ApiError> {
        let kind = self.kind.ok_or(ApiError::Missing(vec!["action.type"]))?;
        match kind.as_str() {
            "callback" => Ok(TagAction::Callback {
                call_id: self
                    .call_id
                    .ok_or(ApiError::Missing(vec!["action.callId"]))?,
                c_number: self.c_number,
            }),
            "url" => Ok(TagAction::Url {
                url: self.url.ok_or(ApiError::Missing(vec!["action.url"]))?,
            }),
            _ => Err(ApiError::InvalidParams),
        }
    }
}

/// Creates a notification tag for the agent (recorded as a `tag.create` event, so streams
/// hear of it); the agent's frontend fetches it with the upstream `tags` route.
#[utoipa::path(post, path = "/v1/agents/{agent_id}/tags", operation_id = "createTag",
    request_body = TagBody,
    responses(
        (status = 201, body = SuccessEnvelope<Tag>, description = "The new tag"),
        (status = 422, body = ErrorEnvelope, description = "1505 no `title`, no `action.type`, \
            no `action.callId` for a callback or no `action.url` for a url; 1000 a text too \
            long, an `icon` with other characters, an unknown `action.type`, a `url` that is \
            not an absolute http(s) address"),
    ),
)]
pub async fn create_tag(at: AgentPath, JsonBody(body): JsonBody<TagBody>) -> Rest<Tag> {
    let action = body.action.map(ActionBody::action).transpose()?;
    let tag = NewTag {
        title: body.title.unwrap_or_default(),
        text: body.text,
        icon: body.icon,
        action,
    };
    let agent = at.agent().await?;
    let tag = at
        .service()
        .create_tag(&agent, tag, at.caller.act())
        .await?;
    Ok(created(tag))
}

/// The agent's tags, oldest first, `read` once an upstream `tags` fetch returned them (this
/// list marks nothing read). Tags older than `TAGS_RETENTION_DAYS` are gone.
#[utoipa::path(get, path = "/v1/agents/{agent_id}/tags", operation_id = "listTags",
    params(Page),
    responses(
        (status = 200, body = SuccessEnvelope<Paged<Tag>>, description = "A page of tags"),
        (status = 422, body = ErrorEnvelope,
            description = "1000 a `limit` or `cursor` out of range; 1001 not a number"),
    ),
)]
pub async fn list_tags(at: AgentPath, QueryParams(page): QueryParams<Page>) -> Rest<Paged<Tag>> {
    let limit = page.limit()?;
    let after = page.after()?;
    let agent = at.agent().await?;
    let items = at.service().tags(&agent, after, limit).await?;
    Ok(ok(Paged::new(items, limit, |t: &Tag| t.id)))
}
