//! API tokens: what each may do (its scope), and when it stops working.

use serde::Serialize;
use utoipa::ToSchema;

use super::text_enum::text_enum;

text_enum! {
    /// What a token may do, each including the one before: `read` — agent state, the roster,
    /// history and the event stream; `supervise` — also breaks, wrap-ups, logins and logouts,
    /// enabling and disabling agents; `admin` — also agents, break reasons, the account's
    /// policy and its tokens.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Scope ("token scope") {
        Read = "read", Supervise = "supervise", Admin = "admin",
    }
}

/// A token as listed: never the token itself (only its hash is kept).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    /// The token's id, to revoke it by.
    pub id: i64,
    pub scope: Scope,
    /// A note to tell tokens apart ("wallboard 3rd floor").
    pub label: String,
    pub created_at: i64,
    /// When it stops working (Unix seconds); null: never.
    pub expires_at: Option<i64>,
    /// When it last authenticated a request (to the minute); null: never.
    pub last_used_at: Option<i64>,
    /// When it was revoked; null: it was not.
    pub revoked_at: Option<i64>,
}

impl Token {
    /// Authenticates at `now`: neither revoked nor expired.
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}
