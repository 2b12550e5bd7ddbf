//! A first run that teaches: on a brand-new embedded database, a demo account, agent,
//! token and ssid, printed with a ready-to-paste curl command.

use std::net::SocketAddr;

use super::Operator;
use crate::domain::{NewAgent, Scope};
use crate::service::{Service, TokenRequest};

pub const DEMO_USER: &str = "demo";
pub const DEMO_AGENT: &str = "demo-agent";

/// Seeds and prints the demo when the database is SQLite and has no account yet.
pub async fn demo_if_new(service: &Service, addr: SocketAddr) -> anyhow::Result<()> {
    if !service.config().demo_seed
        || service.database_kind() != "sqlite"
        || !service.is_empty().await?
    {
        return Ok(());
    }
    let admin = Operator { service };
    admin
        .create_account(
            DEMO_USER,
            "Demo account (first run; DEMO_SEED=false turns it off)",
        )
        .await?;
    let agent = NewAgent {
        agent_id: DEMO_AGENT.to_owned(),
        name: "Demo Agent".to_owned(),
        ..NewAgent::default()
    };
    admin.create_agent(DEMO_USER, agent).await?;
    // One token of each scope, to show least privilege: a wallboard needs only `read`.
    let mut tokens = Vec::new();
    for scope in Scope::ALL {
        let request = TokenRequest {
            scope: *scope,
            label: format!("demo {scope}"),
            expires_in: None,
        };
        tokens.push(admin.create_scoped_token(DEMO_USER, &request).await?.0);
    }
    let [read, supervise, token] = <[String; 3]>::try_from(tokens).expect("three scopes");
    let ssid = admin.create_session(DEMO_USER, DEMO_AGENT).await?;
    admin.start_break(DEMO_USER, DEMO_AGENT, "break").await?;

    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let base = format!("http://{host}/api/v2/agentProfile");
    println!(
        "
First run: created a demo account in the new embedded database.
  userId  {DEMO_USER}
  agentId {DEMO_AGENT}   (on a break, so there is something to see)
  token   {token}   (scope admin: everything, tokens included)
          {supervise}   (scope supervise: breaks, wrap-ups, logins)
          {read}   (scope read: state, roster, history, stream)
  ssid    {ssid}
These secrets are shown once. Try:

  curl -s -X POST {base}/agentOnBreak --data-raw '{{\"ssid\":\"{ssid}\"}}'

  curl -s -X POST {base}/setWebPingTime --data-raw '{{\"userId\":\"{DEMO_USER}\",\"token\":\"{token}\",\"agentId\":\"{DEMO_AGENT}\",\"mic_perm\":\"granted\"}}'
"
    );
    Ok(())
}
