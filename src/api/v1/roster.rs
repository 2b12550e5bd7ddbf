//! `/v1/roster`: every agent of the account with its current state, in one call.

use super::{Caller, Rest, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::domain::RosterEntry;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(roster))
}

/// Every agent of the account with its current state, in one call.
#[utoipa::path(get, path = "/v1/roster", operation_id = "roster",
    responses((status = 200, body = SuccessEnvelope<Vec<RosterEntry>>, description = "The roster")),
)]
pub async fn roster(caller: Caller) -> Rest<Vec<RosterEntry>> {
    let entries = caller
        .service()
        .roster(caller.account.id, None, caller.now)
        .await?;
    Ok(ok(entries))
}
