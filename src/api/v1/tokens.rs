//! `/v1/tokens`: the account's API tokens: list (never the secrets), create with a scope and an
//! expiry, revoke. Admin tokens only (see `scope_of`).

use axum::extract::Path;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Caller, JsonBody, Rest, RestError, created, ok};
use crate::api::AppState;
use crate::api::envelope::SuccessEnvelope;
use crate::api::error::{ApiError, ErrorEnvelope};
use crate::domain::{Scope, Token};
use crate::service::TokenRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// This resource's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

/// The account's tokens, newest first, revoked and expired ones included; never the tokens
/// themselves (only their hashes are kept).
#[utoipa::path(get, path = "/v1/tokens", operation_id = "listTokens",
    responses((status = 200, body = SuccessEnvelope<Vec<Token>>, description = "The tokens")),
)]
pub async fn list(caller: Caller) -> Rest<Vec<Token>> {
    Ok(ok(caller.service().tokens(&caller.account).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewToken)]
pub struct TokenBody {
    /// What it may do; default `read`, the least.
    scope: Option<Scope>,
    /// A note to tell it apart in the list (up to 200 characters).
    #[schema(max_length = 200)]
    label: Option<String>,
    /// Seconds until it stops working (1 or more); absent: it does not expire.
    #[schema(minimum = 1)]
    expires_in: Option<i64>,
}

/// A new token, shown this once, and what the list shows of it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    /// The secret: `Authorization: Bearer <token>`. Only its hash is kept: it is never shown
    /// again.
    token: String,
    #[serde(flatten)]
    listed: Token,
}

/// Creates a token.
#[utoipa::path(post, path = "/v1/tokens", operation_id = "createToken",
    request_body = TokenBody,
    responses(
        (status = 201, body = SuccessEnvelope<CreatedToken>, description = "The token, shown once"),
        (status = 422, body = ErrorEnvelope, description = "1000 an `expiresIn` below 1 or a label over 200 characters"),
    ),
)]
pub async fn create(caller: Caller, JsonBody(new): JsonBody<TokenBody>) -> Rest<CreatedToken> {
    let request = TokenRequest {
        scope: new.scope.unwrap_or(Scope::Read),
        label: new.label.unwrap_or_default(),
        expires_in: new.expires_in,
    };
    let (token, listed) = caller
        .service()
        .create_token(&caller.account, &request)
        .await?;
    Ok(created(CreatedToken { token, listed }))
}

/// Revokes a token at once (on every instance); revoking it again changes nothing. A token
/// cannot revoke itself (1521): a rotation revokes the old token with the new one.
#[utoipa::path(delete, path = "/v1/tokens/{token_id}", operation_id = "revokeToken",
    params(("token_id" = i64, Path, description = "The token's `id`, from the list")),
    responses(
        (status = 200, body = SuccessEnvelope<Token>, description = "The token, revoked"),
        (status = 404, body = ErrorEnvelope, description = "1512: no such token in this account"),
        (status = 409, body = ErrorEnvelope, description = "1521: the token the request is made with"),
    ),
)]
pub async fn revoke(caller: Caller, Path(token_id): Path<String>) -> Rest<Token> {
    let id = token_id
        .parse::<i64>()
        .map_err(|_| RestError(ApiError::NoSuchResource))?;
    if id == caller.token.id {
        return Err(RestError(ApiError::TokenInUse));
    }
    Ok(ok(caller
        .service()
        .revoke_token(&caller.account, id)
        .await?))
}
