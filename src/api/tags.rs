//! `tags`: the agent's notification tags in a time window (the last 24 hours, or with `ref`
//! those new since the agent's previous fetch).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, Type};

use super::auth::Credentials;
use super::auth::{AgentRequest, Route, one_of_types};
use super::envelope::UpstreamAnswer;
use super::envelope::{Reply, Success};
use super::error::ApiError;
use super::params::Params;
use crate::domain::Tag;

pub struct Tags;

impl Route for Tags {
    fn check_types(params: &Params) -> Result<(), ApiError> {
        since_previous(params).map(|_| ())
    }
}

/// `ref` as a flag: `1`/`0`, `true`/`false`, `"1"`/`"0"`, `"true"`/`"false"` (any case);
/// absent, `null` or `""`: false. Anything else: 1001.
fn since_previous(params: &Params) -> Result<bool, ApiError> {
    let Some(value) = params.get("ref") else {
        return Ok(false);
    };
    let flag = match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_u64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "false" => Some(false),
            "1" | "true" => Some(true),
            _ => None,
        },
        _ => None,
    };
    flag.ok_or(ApiError::InvalidType)
}

/// The tags of a window, newest first.
#[derive(Serialize, ToSchema)]
pub struct TagsAnswer {
    /// At most 200, newest first; empty when there are none (a success, not an error).
    tags: Vec<Tag>,
    /// The window's start, Unix seconds (inclusive): 24 hours ago, or with `ref` the agent's
    /// previous fetch (never further back than 24 hours).
    from: i64,
    /// The window's end, Unix seconds: now.
    to: i64,
}

/// The agent's notification tags (a missed call, a supervisor's note) in a time window.
///
/// Without `ref`: every tag of the last 24 hours. With a truthy `ref`: only those created
/// since the agent's previous `tags` fetch that no fetch has returned yet (the window starts
/// at that fetch, at most 24 hours back). Every fetch (by session or token, with `ref` or
/// not) is remembered as the agent's previous fetch, and marks the tags it returns `read`;
/// each tag says whether a fetch had returned it before. No tags: a success with an empty
/// list. A `ref` that is not a flag: 1001; a disabled agent: 1510.
#[utoipa::path(post, path = "/tags", operation_id = "tags",
    request_body = TagsRequest,
    responses((status = 200, body = UpstreamAnswer<TagsAnswer>,
        description = "The tags of the window, newest first, or the error envelope")),
)]
pub async fn tags(req: AgentRequest<Tags>) -> Reply<TagsAnswer> {
    let since_previous = since_previous(&req.params)?;
    let fetched = req
        .app
        .service
        .fetch_tags(&req.agent, since_previous, req.now)
        .await
        .map_err(|e| req.refused(e))?;
    Ok(Success(TagsAnswer {
        tags: fetched.tags,
        from: fetched.from,
        to: fetched.to,
    }))
}

/// `tags`: the credentials and an optional `ref`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct TagsRequest {
    #[serde(flatten)]
    credentials: Credentials,
    /// Optional flag: truthy (`1`, `true`, `"1"`, `"true"`) answers only the tags new since
    /// the agent's previous `tags` fetch; falsy or absent, the last 24 hours. Anything
    /// else: 1001.
    #[serde(rename = "ref")]
    #[schema(schema_with = flag)]
    reference: Option<String>,
}

fn flag() -> Object {
    let types = [Type::Integer, Type::Boolean, Type::String, Type::Null];
    one_of_types(&types, json!(1))
}
