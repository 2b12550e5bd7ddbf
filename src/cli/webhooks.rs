//! `agentprofile webhook add|list|remove`: an account's webhook endpoints, as `/v1/webhooks`
//! manages them (the same checks, through the service).

use clap::Subcommand;

use super::operator::{Operator, OperatorError};
use crate::domain::now_unix;
use crate::service::{ServiceError, WebhookRequest};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; prints its id, then its signing secret alone on a line (it is
    /// not shown again).
    Add {
        user_id: String,
        /// https://… (http:// with WEBHOOK_ALLOW_HTTP), resolving to public addresses.
        url: String,
        /// An event kind or family to hear (`break.*`); repeat it for more; none: every event.
        #[arg(long = "event")]
        events: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List an account's endpoints (never their secrets): id, enabled, cursor, events, url.
    List { user_id: String },
    /// Delete an endpoint by its id (from `webhook list`).
    Remove { user_id: String, webhook_id: i64 },
}

pub async fn run(admin: &Operator<'_>, command: WebhookCommand) -> anyhow::Result<()> {
    let service = admin.service;
    match command {
        WebhookCommand::Add {
            user_id,
            url,
            events,
            description,
        } => {
            let account = admin.account(&user_id).await?;
            let request = WebhookRequest {
                url,
                description: Some(description),
                events: Some(events),
            };
            let (webhook, secret) = service
                .create_webhook(&account, request, now_unix())
                .await
                .map_err(OperatorError::from)?;
            eprintln!("created webhook {} of account {user_id:?}", webhook.id);
            println!("{secret}");
        }
        WebhookCommand::List { user_id } => {
            let account = admin.account(&user_id).await?;
            println!("id\tenabled\tcursor\tattempts\tevents\turl");
            for w in service
                .webhooks(&account)
                .await
                .map_err(OperatorError::from)?
            {
                let events = if w.events.is_empty() {
                    "*".to_owned()
                } else {
                    w.events.join(",")
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    w.id, w.enabled, w.cursor, w.attempts, events, w.url
                );
            }
        }
        WebhookCommand::Remove {
            user_id,
            webhook_id,
        } => {
            let account = admin.account(&user_id).await?;
            match service.delete_webhook(&account, webhook_id).await {
                Ok(()) => println!("removed webhook {webhook_id} of account {user_id:?}"),
                Err(ServiceError::NotFound) => {
                    anyhow::bail!("no webhook {webhook_id} in account {user_id:?}")
                }
                Err(err) => return Err(OperatorError::from(err).into()),
            }
        }
    }
    Ok(())
}
