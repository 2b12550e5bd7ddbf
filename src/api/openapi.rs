//! The OpenAPI 3.1 description and the docs page.
//!
//! The description is generated from the same `OpenApiRouter` that routes requests (see
//! `api::routes`): each handler's `#[utoipa::path]` gives its method and path to the router and
//! to the description at once. [`finish`] then adds what every operation of a surface shares
//! (the upstream request body's content types, the statuses any route can answer), and the
//! table of error codes, generated from [`ApiError::every`].
//!
//! The upstream request bodies are described beside their routes; `/docs` is in `docs.rs`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Content, OpenApi, PathItem, Ref, RefOr, Required, Response as ApiResponse, ResponseBuilder,
};

use super::PREFIXES;
use super::envelope::JSON_UTF8;
use super::error::ApiError;

/// Where the description is served.
pub const SPEC_PATH: &str = "/openapi.json";

const BEARER: &str = "bearerToken";

/// What the derive knows up front; [`finish`] adds the rest.
#[derive(utoipa::OpenApi)]
#[openapi(
    tags(
        (name = "agentProfile v2", description = "The upstream agentProfile v2 surface: `POST` under \
            `/api/v2/agentProfile/` and `/deepcall/api/v2/agentProfile/` (the same routes under \
            both prefixes). Handled errors answer HTTP 200 with the error envelope, as upstream does."),
        (name = "agentProfile v2 extensions", description = "Extensions on the upstream surface, \
            same conventions: the agent's own state changes."),
        (name = "management (/v1)", description = "The management API for the telephony backend \
            and supervisor tools: JSON, `Authorization: Bearer <account token>`, real HTTP statuses, \
            the same envelope."),
        (name = "health", description = "Liveness and readiness probes."),
        (name = "docs", description = "This description. Swagger UI for it is at `/docs`."),
    ),
)]
pub struct ApiDoc;

/// A string that is one of these values.
pub fn one_of_strings(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// This OpenAPI description.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "docs",
    responses((status = 200, content_type = "application/json",
        description = "The OpenAPI 3.1 description of every route")),
)]
pub async fn openapi_json() -> Response {
    let spec = SPEC.get_or_init(|| serialize(&super::openapi()));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
        spec.clone(),
    )
        .into_response()
}

/// The description depends on the code only: built once, on its first request.
static SPEC: OnceLock<Bytes> = OnceLock::new();

fn serialize(api: &OpenApi) -> Bytes {
    Bytes::from(serde_json::to_vec(api).expect("the OpenAPI description serializes"))
}

/// Completes the generated description: what every operation of a surface shares, and the
/// tables that come from the code.
pub fn finish(api: &mut OpenApi) {
    api.info.title = "agentprofile".to_owned();
    api.info.description = Some(description());

    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token of the account (`agentprofile token create`), as \
                     `Authorization: Bearer <token>`. Missing or not valid: 401 with 1014; \
                     account suspended: 403 with 1039; a scope below the route's: 403 with \
                     1516.",
                ))
                .build(),
        ),
    );
    if let Some(RefOr::T(Schema::Object(envelope))) = components.schemas.get_mut("ErrorEnvelope") {
        envelope.description = Some(format!(
            "The error envelope, compact, keys in this order, e.g. \
             `{{\"status\":\"error\",\"message\":\"On break is : 0\",\"code\":1502}}`.\n\n{}",
            error_table()
        ));
        if let Some(RefOr::T(Schema::Object(code))) = envelope.properties.get_mut("code") {
            code.enum_values = Some(codes().into_iter().map(Value::from).collect());
        }
    }

    for (path, item) in api.paths.paths.iter_mut() {
        let upstream = PREFIXES
            .iter()
            .position(|p| path.starts_with(&format!("{p}/")));
        for (method, op) in operations(item) {
            match upstream {
                Some(prefix) => finish_upstream(op, prefix),
                None if path.starts_with("/v1/") => finish_v1(op, &method, path),
                None => {}
            }
        }
    }
}

/// Tags the operation, unless its `#[utoipa::path]` did.
fn tag(op: &mut Operation, name: &str) {
    op.tags.get_or_insert_with(|| vec![name.to_owned()]);
}

/// The operations of a path item, with their methods.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::GET, &mut item.get),
        (Method::PUT, &mut item.put),
        (Method::POST, &mut item.post),
        (Method::DELETE, &mut item.delete),
        (Method::OPTIONS, &mut item.options),
        (Method::HEAD, &mut item.head),
        (Method::PATCH, &mut item.patch),
        (Method::TRACE, &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_mut().map(|op| (method, op)))
}

fn error_response(description: &str) -> RefOr<ApiResponse> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))),
            )
            .build(),
    )
}

fn add_response(op: &mut Operation, status: StatusCode, description: &str) {
    op.responses
        .responses
        .entry(status.as_u16().to_string())
        .or_insert_with(|| error_response(description));
}

/// The upstream request body whatever its Content-Type, and the statuses that are not 200.
fn finish_upstream(op: &mut Operation, prefix: usize) {
    tag(op, "agentProfile v2");
    if prefix > 0 {
        // The same operation under the second prefix: operation ids must be unique.
        if let Some(id) = &mut op.operation_id {
            *id = format!("deepcall_{id}");
        }
    }
    if let Some(body) = &mut op.request_body {
        finish_upstream_body(body);
    }
    add_too_large(op);
    add_unavailable(op);
}

/// What every `/v1` body may be refused for, after what the route says of its own fields.
const UNREADABLE_BODY: &str = "1001 a value of the wrong type; 1047 not JSON";

fn add_unreadable_body(op: &mut Operation) {
    let status = StatusCode::UNPROCESSABLE_ENTITY.as_u16().to_string();
    match op.responses.responses.get_mut(&status) {
        Some(RefOr::T(own)) => own.description = format!("{}; {UNREADABLE_BODY}", own.description),
        Some(RefOr::Ref(_)) => {}
        None => add_response(op, StatusCode::UNPROCESSABLE_ENTITY, UNREADABLE_BODY),
    }
}

/// What a route with a body answers for one over the body limit.
fn add_too_large(op: &mut Operation) {
    let description = "1047: the body is larger than the body limit";
    add_response(op, StatusCode::PAYLOAD_TOO_LARGE, description);
}

/// What every route answers when the database is down or the request timed out.
fn add_unavailable(op: &mut Operation) {
    let description = "1010: the database cannot be reached; 1032: the request timed out";
    add_response(op, StatusCode::SERVICE_UNAVAILABLE, description);
}

fn finish_upstream_body(body: &mut RequestBody) {
    let Some(schema) = body
        .content
        .get("application/json")
        .and_then(|c| c.schema.clone())
    else {
        return;
    };
    body.description = Some(
        "The parameters, read **whatever the Content-Type**: a body that is a JSON object is \
         read as JSON (clients send it as `text/plain`, `application/x-www-form-urlencoded` or \
         with no Content-Type at all); a body that is not JSON but is `key=value&…` is read as a \
         form; query-string parameters are read too, and a body field wins over a query field \
         of the same name. A body that is neither, a JSON value that is not an object, or no \
         parameters at all: 1047.\n\nAuthentication: `ssid` (an agent's session), **or** \
         `userId` + `token` (an account API token) with `agentId` naming the agent."
            .to_owned(),
    );
    body.required = Some(Required::True);
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        body.content
            .insert(content_type.to_owned(), Content::new(Some(schema.clone())));
    }
}

/// The statuses every `/v1` route can answer.
fn finish_v1(op: &mut Operation, method: &Method, path: &str) {
    tag(op, "management (/v1)");
    let scope = super::v1::scope_of(method, path);
    let summary = format!("Needs a token of scope `{scope}` or above.");
    op.description = Some(match op.description.take() {
        Some(text) => format!("{text}\n\n{summary}"),
        None => summary,
    });
    op.security
        .get_or_insert_with(|| vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    if path.contains("{agent_id}") {
        let params = op.parameters.get_or_insert_with(Vec::new);
        if !params.iter().any(|p| p.name == "agent_id") {
            let agent_id = ParameterBuilder::new()
                .name("agent_id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("The agent's `agentId`"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            params.insert(0, agent_id);
        }
        add_response(
            op,
            StatusCode::NOT_FOUND,
            "1512: no such agent in this account",
        );
    }
    add_response(
        op,
        StatusCode::UNAUTHORIZED,
        "1014: no bearer token, or not a valid one",
    );
    add_response(
        op,
        StatusCode::FORBIDDEN,
        &format!("1039: the account is suspended; 1516: the token's scope is below `{scope}`"),
    );
    add_response(
        op,
        StatusCode::TOO_MANY_REQUESTS,
        "1515: too many failed authentications from this address; see `Retry-After`",
    );
    if op.request_body.is_some() {
        if let Some(body) = &mut op.request_body {
            body.description.get_or_insert_with(|| {
                "JSON, whatever the Content-Type; an empty body reads as `{}`.".to_owned()
            });
            // An empty body reads as `{}`: the body may be left out (schemathesis found
            // the description saying otherwise).
            body.required = Some(Required::False);
        }
        add_too_large(op);
        add_unreadable_body(op);
    }
    add_response(
        op,
        StatusCode::INTERNAL_SERVER_ERROR,
        "1032: something unexpected (details only in the server's log)",
    );
    add_unavailable(op);
}

/// Every code, once, in order.
fn codes() -> BTreeSet<u16> {
    ApiError::every().iter().map(ApiError::code).collect()
}

/// The table of every error: code, exact message, HTTP status on each surface, when.
pub fn error_table() -> String {
    let mut rows: Vec<ApiError> = ApiError::every();
    rows.sort_by_key(|e| (e.code() < 1500, e.code()));
    let mut table = String::from(
        "| code | message (exact) | HTTP, agentProfile v2 | HTTP, /v1 | when |\n\
         |---|---|---|---|---|\n",
    );
    for e in rows {
        table.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            e.code(),
            e.message_pattern(),
            e.status().as_u16(),
            e.rest_status().as_u16(),
            e.when()
        ));
    }
    table
}

fn description() -> String {
    format!(
        "Drop-in reimplementation of the DeepCall agentProfile v2 API (agent breaks, wrap-up and \
         web pings), and a management API for the telephony backend and supervisors.\n\n\
         **Every answer** is `Content-Type: application/json; charset=utf-8` with an envelope: \
         `{{\"status\":\"success\",\"data\":…}}` or \
         `{{\"status\":\"error\",\"message\":\"…\",\"code\":N}}`.\n\n\
         **agentProfile v2** (`/api/v2/agentProfile/…` and `/deepcall/api/v2/agentProfile/…`): \
         `POST`, parameters read whatever the Content-Type (JSON, form or query string), \
         authentication in the parameters: `ssid`, **or** `userId` + `token` + `agentId`. \
         Handled errors answer HTTP 200 with the error envelope, as upstream does. Order of \
         checks: 1047/1001 → 1505 → 1000/1014/1039 → 1501 → the route's own.\n\n\
         **Management** (`/v1/…`): JSON, `Authorization: Bearer <account token>`, real HTTP \
         statuses.\n\n\
         **On every path**: an unknown path answers 404 and a method the path does not answer \
         405, both with the error envelope and code 1047; a body over the limit 413 (1047); \
         503 when the database cannot be reached (1010) or the request timed out (1032). \
         `OPTIONS` answers CORS preflight.\n\n\
         ## Error codes\n\n{}",
        error_table()
    )
}
