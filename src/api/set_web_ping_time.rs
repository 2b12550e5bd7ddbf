//! `setWebPingTime`: the agent's browser heartbeat and microphone permission.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, Type};

use super::auth::Credentials;
use super::auth::{AgentRequest, Route, one_of_types};
use super::envelope::UpstreamAnswer;
use super::envelope::{Reply, Success};
use super::error::ApiError;
use super::params::Params;
use crate::domain::{Account, Agent, MicPerm, Ping, Scope, parse_ping_time};

pub struct SetWebPingTime;

impl Route for SetWebPingTime {
    const REQUIRED: &'static [&'static str] = &["mic_perm"];
    // A heartbeat changes presence and the microphone state.
    const SCOPE: Scope = Scope::Supervise;

    fn bad_ssid() -> ApiError {
        ApiError::PingSsidInvalid
    }

    fn check_types(params: &Params) -> Result<(), ApiError> {
        match params.get("mic_perm") {
            Some(value) if MicPerm::from_value(value).is_none() => Err(ApiError::InvalidType),
            _ => Ok(()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Pinged {
    // Shared with the live view, not copied: written as the agent's id.
    #[serde(rename = "agent_id", serialize_with = "super::envelope::agent_id")]
    #[schema(rename = "agent_id", value_type = String)]
    agent: Arc<Agent>,
    #[serde(rename = "user_id", serialize_with = "super::envelope::user_id")]
    #[schema(rename = "user_id", value_type = String)]
    account: Arc<Account>,
    /// The client's `ping_time` in Unix seconds when it sent one, else the server's receive time.
    ping_time: i64,
    /// When the server received the ping (Unix seconds): liveness is judged by this clock.
    server_time: i64,
    /// 1 when the microphone may be used, else 0.
    mic_perm: u8,
    /// `granted`, `denied` or `prompt`.
    #[schema(schema_with = mic_states)]
    mic_state: &'static str,
}

fn mic_states() -> utoipa::openapi::Object {
    let states = [MicPerm::Granted, MicPerm::Denied, MicPerm::Prompt].map(MicPerm::as_str);
    super::openapi::one_of_strings(&states)
}

/// The agent's browser heartbeat: records the ping and the microphone permission.
///
/// The server records its own receive time too; liveness and session expiry use the server's
/// clock only. A ping refreshes the session's idle timer. An unknown, expired or logged-out
/// `ssid`: 1503; no `mic_perm`: 1505; a `mic_perm` not accepted: 1001; a `ping_time` that is not
/// a time: 1506.
#[utoipa::path(post, path = "/setWebPingTime", operation_id = "setWebPingTime",
    request_body = SetWebPingTimeRequest,
    responses((status = 200, body = UpstreamAnswer<Pinged>,
        description = "The recorded ping, or the error envelope")),
)]
pub async fn set_web_ping_time(req: AgentRequest<SetWebPingTime>) -> Reply<Pinged> {
    let mic_perm = req
        .params
        .get("mic_perm")
        .and_then(MicPerm::from_value)
        .ok_or(ApiError::InvalidType)?;
    let client_time = match req.params.get("ping_time") {
        None => None,
        Some(value) => Some(parse_ping_time(value).ok_or(ApiError::BadPingTime)?),
    };
    let ping = Ping {
        session_pk: req.session_pk,
        received_at: req.now,
        client_time,
        mic_perm,
    };
    req.app
        .service
        .record_ping(&req.agent, ping, req.actor)
        .await
        .map_err(|e| req.refused(e))?;
    Ok(Success(Pinged {
        agent: req.agent,
        account: req.account,
        ping_time: client_time.unwrap_or(req.now),
        server_time: req.now,
        mic_perm: mic_perm.as_flag(),
        mic_state: mic_perm.as_str(),
    }))
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

fn mic_perm() -> Object {
    let types = [Type::Integer, Type::Boolean, Type::String];
    one_of_types(&types, json!("granted"))
}

fn ping_time() -> Object {
    one_of_types(&[Type::Number, Type::String], json!(1732095311123_i64))
}
