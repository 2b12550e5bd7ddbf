//! The OpenAPI 3.1 description and the docs page.
//!
//! The description is generated from the same `OpenApiRouter` that routes requests (see
//! `api::routes`): each handler's `#[utoipa::path]` gives its method and path to the router and
//! to the description at once. [`finish`] then adds what every operation of a surface shares
//! (the upstream request body's content types, the statuses any route can answer), and the
//! table of error codes, generated from [`ApiError::every`].
//!
//! `/docs` is Swagger UI, compiled into the binary (`utoipa-swagger-ui` with `vendored`): no
//! asset comes from the network, at build time or at run time.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::path::Operation;
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    Content, OpenApi, PathItem, Ref, RefOr, Required, Response as ApiResponse, ResponseBuilder,
};

use super::PREFIXES;
use super::envelope::{JSON_UTF8, SuccessEnvelope};
use super::error::{ApiError, ErrorEnvelope};
use crate::app::AppState;

/// Where the description is served.
pub const SPEC_PATH: &str = "/openapi.json";
/// Where Swagger UI is served.
pub const DOCS_PATH: &str = "/docs";

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

/// The answer of an upstream route (HTTP 200): the success envelope, or the error envelope.
#[derive(ToSchema)]
#[allow(dead_code)] // only described, never built: the handlers answer `Result<Success<T>, ApiError>`
#[serde(untagged)]
pub enum UpstreamAnswer<T> {
    Success(SuccessEnvelope<T>),
    Error(ErrorEnvelope),
}

// The upstream request bodies. The handlers read parameters with `Params` (any Content-Type,
// JSON, form or query string) and the `AgentRequest` extractor: these types only describe them.

/// Authentication by an agent's login session.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(title = "By session")]
pub struct SessionAuth {
    /// The agent's login session. Unknown, expired or logged out: 1000 (1503 on
    /// `setWebPingTime`). Never together with `userId` or `token` (1000).
    ssid: String,
    /// Optional: when given, it must be the session's own agent (1501 otherwise).
    #[schema(schema_with = string_or_integer)]
    agent_id: Option<String>,
}

/// Authentication by an account API token, naming the agent.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
#[schema(title = "By account token")]
pub struct TokenAuth {
    /// The account (upstream `userId`).
    #[schema(schema_with = string_or_integer)]
    user_id: String,
    /// An API token of that account. Not valid: 1014; account suspended: 1039.
    token: String,
    /// Required with a token (1505 without it). Not an agent of that account: 1501; disabled:
    /// 1510.
    #[schema(schema_with = string_or_integer)]
    agent_id: String,
}

/// `ssid`, **or** `userId` + `token` + `agentId`, never both; in the body (JSON or form) or in
/// the query string (a body field wins over a query field of the same name). `null` and `""`
/// count as absent. Missing: 1505 naming them; a wrong type: 1001.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum Credentials {
    Session(SessionAuth),
    Token(TokenAuth),
}

/// `setWebPingTime`: the credentials, `mic_perm` and an optional `ping_time`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct SetWebPingTimeRequest {
    #[serde(flatten)]
    credentials: Credentials,
    /// Required (1505 without it): the browser's microphone permission: `1`/`0`,
    /// `true`/`false`, `"1"`/`"0"`, or the permission states `"granted"`/`"denied"`/`"prompt"`
    /// (any case). Anything else: 1001.
    #[schema(schema_with = mic_perm)]
    mic_perm: String,
    /// The client's clock: Unix seconds or milliseconds (values above 10^11 are read as
    /// milliseconds; fractions are dropped), a number or a numeric string. Anything else: 1506.
    #[schema(schema_with = ping_time)]
    ping_time: Option<String>,
}

/// `startBreak`: the credentials and the break's reason.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct StartBreakRequest {
    #[serde(flatten)]
    credentials: Credentials,
    /// Required (1505 without it): a code or label of the account's break reasons (any case).
    /// Not an active reason of the account: 1508.
    #[schema(example = "lunch")]
    reason: String,
}

/// A string that is one of these values.
pub fn one_of_strings(values: &[&str]) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

fn string_or_integer() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::String, Type::Integer]))
        .examples([json!("7")])
        .build()
}

fn mic_perm() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![
            Type::Integer,
            Type::Boolean,
            Type::String,
        ]))
        .examples([json!("granted"), json!(1)])
        .build()
}

fn ping_time() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::Array(vec![Type::Number, Type::String]))
        .examples([json!(1732095311123_i64)])
        .build()
}

/// This OpenAPI description.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "docs",
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
                     account suspended: 403 with 1039.",
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
        for op in operations(item) {
            match upstream {
                Some(prefix) => finish_upstream(op, prefix),
                None if path.starts_with("/v1/") => finish_v1(op),
                None => {}
            }
        }
    }
}

/// The operations of a path item.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
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
    if prefix > 0 {
        // The same operation under the second prefix: operation ids must be unique.
        if let Some(id) = &mut op.operation_id {
            *id = format!("deepcall_{id}");
        }
    }
    if let Some(body) = &mut op.request_body {
        finish_upstream_body(body);
    }
    add_response(
        op,
        StatusCode::PAYLOAD_TOO_LARGE,
        "1047: the body is larger than the body limit",
    );
    add_response(
        op,
        StatusCode::SERVICE_UNAVAILABLE,
        "1010: the database cannot be reached; 1032: the request timed out",
    );
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
fn finish_v1(op: &mut Operation) {
    add_response(
        op,
        StatusCode::UNAUTHORIZED,
        "1014: no bearer token, or not a valid one",
    );
    add_response(op, StatusCode::FORBIDDEN, "1039: the account is suspended");
    if op.request_body.is_some() {
        if let Some(body) = &mut op.request_body {
            body.description.get_or_insert_with(|| {
                "JSON, whatever the Content-Type; an empty body reads as `{}`.".to_owned()
            });
        }
        add_response(
            op,
            StatusCode::PAYLOAD_TOO_LARGE,
            "1047: the body is larger than the body limit",
        );
    }
    add_response(
        op,
        StatusCode::INTERNAL_SERVER_ERROR,
        "1032: something unexpected (details only in the server's log)",
    );
    add_response(
        op,
        StatusCode::SERVICE_UNAVAILABLE,
        "1010: the database cannot be reached; 1032: the request timed out",
    );
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

/// `/docs`: Swagger UI for `/openapi.json`, from files compiled into the binary.
pub fn docs_routes() -> Router<AppState> {
    let config = Arc::new(
        utoipa_swagger_ui::Config::new([SPEC_PATH])
            // Swagger UI would otherwise send the description to an online validator.
            .validator_url("none"),
    );
    let index = {
        let config = config.clone();
        move || {
            let config = config.clone();
            async move { docs_file("index.html", config) }
        }
    };
    let asset = move |Path(file): Path<String>| async move { docs_file(&file, config) };
    Router::new()
        .route(DOCS_PATH, get(index.clone()))
        .route(&format!("{DOCS_PATH}/"), get(index))
        .route(&format!("{DOCS_PATH}/{{*file}}"), get(asset))
}

fn docs_file(file: &str, config: Arc<utoipa_swagger_ui::Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(file, config) {
        Ok(Some(found)) => {
            let mut bytes = found.bytes.into_owned();
            if file == "index.html" {
                // Served at `/docs` too, where `./x` would mean `/x`: pin relative URLs to `/docs/`.
                let html = String::from_utf8_lossy(&bytes).replacen(
                    "<head>",
                    &format!("<head>\n    <base href=\"{DOCS_PATH}/\">"),
                    1,
                );
                bytes = html.into_bytes();
            }
            let content_type = if found.content_type.starts_with("text/") {
                format!("{}; charset=utf-8", found.content_type)
            } else {
                found.content_type
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type)],
                bytes,
            )
                .into_response()
        }
        Ok(None) => ApiError::NotFound.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not serve a docs file");
            ApiError::Internal.into_response_with(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
