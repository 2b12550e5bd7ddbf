//! `/v1/reports/agent-states` and `/v1/reports/summary`: the time each agent spent in each
//! state over a period, per bucket or in all, as JSON or CSV.

use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::{IntoResponse, Response};

use super::{Caller, RestError, RestResult, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{Bucket, ReportRow, to_csv};
use crate::service::ReportRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agent_states))
        .routes(routes!(summary))
}

/// The query: `agentId` may repeat, which serde's query reading does not take.
struct ReportQuery {
    request: ReportRequest,
    csv: bool,
}

fn read_query(uri: &Uri, headers: &HeaderMap, bucketed: bool) -> RestResult<ReportQuery> {
    let mut request = ReportRequest::default();
    let mut format = None;
    let query = uri.query().unwrap_or("");
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = value.into_owned();
        match key.as_ref() {
            "from" => request.from = Some(value),
            "to" => request.to = Some(value),
            "agentId" if !value.trim().is_empty() => request.agent_ids.push(value),
            "bucket" if bucketed && !value.is_empty() => {
                let bucket = value.parse::<Bucket>();
                request.bucket = Some(bucket.map_err(|_| RestError(ApiError::ReportOption))?);
            }
            "format" => format = Some(value),
            _ => {}
        }
    }
    if request.agent_ids.len() > 1000 {
        return Err(RestError(ApiError::ReportOption));
    }
    let accepts_csv = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")));
    let csv = match format.as_deref() {
        None | Some("") => accepts_csv,
        Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(RestError(ApiError::ReportOption)),
    };
    Ok(ReportQuery { request, csv })
}

async fn report(caller: Caller, uri: Uri, headers: HeaderMap, bucketed: bool) -> Response {
    let answer = async {
        let query = read_query(&uri, &headers, bucketed)?;
        let service = caller.service();
        let rows = service
            .report(&caller.account, &query.request, caller.now)
            .await?;
        Ok::<_, RestError>((rows, query.csv))
    };
    match answer.await {
        Ok((rows, true)) => csv_response(&rows, if bucketed { "agent-states" } else { "summary" }),
        Ok((rows, false)) => ok(rows).into_response(),
        Err(err) => err.into_response(),
    }
}

fn csv_response(rows: &[ReportRow], name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{name}.csv\"");
    let mut response = to_csv(rows).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    response
}

/// Per agent and bucket: the seconds each agent spent in each state.
///
/// A state runs from its start event to its end (or to a session's expiry, a wrap-up's end
/// time, a disable); what was open at `from` is counted from `from`, what is still open at
/// `to` (or now) up to there. Day and week buckets start at midnight in the account's time
/// zone (`timeZone` of `/v1/account`), weeks on Monday. CSV with `?format=csv` or
/// `Accept: text/csv`.
#[utoipa::path(get, path = "/v1/reports/agent-states", operation_id = "reportAgentStates",
    params(
        ("from" = Option<String>, Query,
            description = "Unix seconds or ISO 8601 (a date, or a time without offset, is in the account's zone); default: the start of today"),
        ("to" = Option<String>, Query,
            description = "Exclusive, as `from`; default: the end of `from`'s day. At most 93 days after `from`"),
        ("bucket" = Option<String>, Query, description = "`hour`, `day` or `week` (default: none, one row per agent)"),
        ("agentId" = Option<Vec<String>>, Query, explode = true,
            description = "Only these agents (repeatable; default: every agent)"),
        ("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
    ),
    responses(
        (status = 200, description = "One row per agent and bucket",
            content((SuccessEnvelope<Vec<ReportRow>> = "application/json"), (String = "text/csv"))),
        (status = 404, body = ErrorEnvelope, description = "1512: an `agentId` that is no agent of this account"),
        (status = 422, body = ErrorEnvelope,
            description = "1522 a bad period; 1523 too long; 1524 before the history kept; 1526 a bad `bucket` or `format`"),
    ),
)]
pub async fn agent_states(caller: Caller, uri: Uri, headers: HeaderMap) -> Response {
    report(caller, uri, headers, true).await
}

/// Per agent, the period in all: the same row, without `bucket`.
#[utoipa::path(get, path = "/v1/reports/summary", operation_id = "reportSummary",
    params(
        ("from" = Option<String>, Query,
            description = "Unix seconds or ISO 8601 (a date, or a time without offset, is in the account's zone); default: the start of today"),
        ("to" = Option<String>, Query,
            description = "Exclusive, as `from`; default: the end of `from`'s day. At most 93 days after `from`"),
        ("agentId" = Option<Vec<String>>, Query, explode = true,
            description = "Only these agents (repeatable; default: every agent)"),
        ("format" = Option<String>, Query, description = "`json` (default) or `csv`"),
    ),
    responses(
        (status = 200, description = "One row per agent",
            content((SuccessEnvelope<Vec<ReportRow>> = "application/json"), (String = "text/csv"))),
        (status = 404, body = ErrorEnvelope, description = "1512: an `agentId` that is no agent of this account"),
        (status = 422, body = ErrorEnvelope,
            description = "1522 a bad period; 1523 too long; 1524 before the history kept; 1526 a bad `format`"),
    ),
)]
pub async fn summary(caller: Caller, uri: Uri, headers: HeaderMap) -> Response {
    report(caller, uri, headers, false).await
}
