//! The operator CLI: `agentprofile [serve|migrate|account|token|agent|session|break|wrap]`.

use clap::{Parser, Subcommand};

use crate::admin::Admin;
use crate::config::Config;
use crate::domain::WrapMode;
use crate::store::{AgentUpdate, ReasonUpdate};

#[derive(Debug, Parser)]
#[command(
    name = "agentprofile",
    version,
    about = "The agentProfile v2 API server and its operator commands"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default). --bind HOST:PORT or BIND_ADDR sets the address.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Accounts (the upstream userId).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Account API tokens (userId + token authentication).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Agents of an account.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Agent login sessions (ssid).
    #[command(subcommand)]
    Session(SessionCommand),
    /// Put an agent on break or take them off it.
    #[command(subcommand)]
    Break(BreakCommand),
    /// Start or end an agent's after-call wrap-up.
    #[command(subcommand)]
    Wrap(WrapCommand),
    /// An account's break reasons.
    #[command(subcommand)]
    Reason(ReasonCommand),
    /// Print the history of state changes, oldest first.
    History {
        user_id: String,
        /// Only this agent's events.
        #[arg(long)]
        agent: Option<String>,
        /// From this Unix time (inclusive).
        #[arg(long, default_value_t = 0)]
        from: i64,
        /// Until this Unix time (exclusive).
        #[arg(long, default_value_t = i64::MAX)]
        to: i64,
        /// After this event id (the last id of the previous page).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create {
        user_id: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Suspend an account: its requests answer 1039.
    Suspend { user_id: String },
    /// Lift a suspension.
    Resume { user_id: String },
    /// Set the account's default wrap-up policy (agents may override it).
    WrapPolicy {
        user_id: String,
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        seconds: Option<i64>,
        #[arg(long, value_enum)]
        mode: Option<WrapMode>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; prints it alone on one line (it is not shown again).
    Create { user_id: String },
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent in an account.
    Create {
        user_id: String,
        agent_id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Wrap-up length in seconds (default: the account's).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        wrap_seconds: Option<i64>,
        /// Wrap-up mode (default: the account's).
        #[arg(long, value_enum)]
        wrap_mode: Option<WrapMode>,
    },
    /// Change an agent's name or wrap-up overrides.
    Update {
        user_id: String,
        agent_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..), conflicts_with = "account_wrap")]
        wrap_seconds: Option<i64>,
        #[arg(long, value_enum, conflicts_with = "account_wrap")]
        wrap_mode: Option<WrapMode>,
        /// Drop both overrides: the account's wrap-up policy applies.
        #[arg(long)]
        account_wrap: bool,
    },
    /// Disable an agent: logs them out and ends their break and wrap-up.
    Disable { user_id: String, agent_id: String },
    /// Enable a disabled agent.
    Enable { user_id: String, agent_id: String },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Log an agent in; prints the new ssid alone on one line.
    Create { user_id: String, agent_id: String },
    /// Log every session of an agent out.
    Logout { user_id: String, agent_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ReasonCommand {
    /// List the account's break reasons.
    List { user_id: String },
    /// Add a break reason.
    Create {
        user_id: String,
        code: String,
        #[arg(long)]
        label: String,
        /// Seconds after which a break is flagged over its limit.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
        limit_seconds: Option<i64>,
    },
    /// Change a break reason.
    Update {
        user_id: String,
        code: String,
        #[arg(long)]
        label: Option<String>,
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..), conflicts_with = "no_limit")]
        limit_seconds: Option<i64>,
        /// Remove the limit.
        #[arg(long)]
        no_limit: bool,
        /// false retires the reason: no new breaks with it.
        #[arg(long)]
        active: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreakCommand {
    /// Start a break.
    Start {
        user_id: String,
        agent_id: String,
        #[arg(long)]
        reason: String,
    },
    /// End the agent's break.
    End { user_id: String, agent_id: String },
}

#[derive(Debug, Subcommand)]
pub enum WrapCommand {
    /// Start after-call wrap-up.
    Start {
        user_id: String,
        agent_id: String,
        #[arg(long)]
        call_id: String,
        /// The customer's number.
        #[arg(long)]
        number: String,
        /// Length in seconds (default: the agent's wrap-up length).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        seconds: Option<i64>,
    },
    /// End the agent's wrap-up.
    End { user_id: String, agent_id: String },
}

/// Runs an operator command; what it prints on success goes to stdout.
pub async fn run(admin: &Admin<'_>, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve | Command::Migrate => unreachable!("handled by main"),
        Command::Account(AccountCommand::Create { user_id, name }) => {
            let account = admin.create_account(&user_id, &name).await?;
            println!("created account {:?}", account.user_id);
        }
        Command::Account(AccountCommand::Suspend { user_id }) => {
            admin.set_suspended(&user_id, true).await?;
            println!("suspended account {user_id:?}");
        }
        Command::Account(AccountCommand::Resume { user_id }) => {
            admin.set_suspended(&user_id, false).await?;
            println!("resumed account {user_id:?}");
        }
        Command::Token(TokenCommand::Create { user_id }) => {
            println!("{}", admin.create_token(&user_id).await?);
        }
        Command::Account(AccountCommand::WrapPolicy {
            user_id,
            seconds,
            mode,
        }) => {
            let account = admin.set_wrap_policy(&user_id, seconds, mode).await?;
            let policy = account.wrap_policy();
            println!(
                "account {user_id:?} wrap-up: {} s, {}",
                policy.seconds, policy.mode
            );
        }
        Command::Agent(AgentCommand::Create {
            user_id,
            agent_id,
            name,
            wrap_seconds,
            wrap_mode,
        }) => {
            let mut agent = admin
                .create_agent(&user_id, &agent_id, &name, wrap_seconds)
                .await?;
            if wrap_mode.is_some() {
                let update = AgentUpdate {
                    wrap_mode: Some(wrap_mode),
                    ..AgentUpdate::default()
                };
                agent = admin.update_agent(&user_id, &agent_id, &update).await?;
            }
            let (account, _) = admin.agent(&user_id, &agent.agent_id).await?;
            println!(
                "created agent {:?} in account {user_id:?} (wrap-up {} s)",
                agent.agent_id,
                agent.wrap_policy(&account).seconds
            );
        }
        Command::Agent(AgentCommand::Update {
            user_id,
            agent_id,
            name,
            wrap_seconds,
            wrap_mode,
            account_wrap,
        }) => {
            let update = AgentUpdate {
                name,
                wrap_seconds: if account_wrap {
                    Some(None)
                } else {
                    wrap_seconds.map(Some)
                },
                wrap_mode: if account_wrap {
                    Some(None)
                } else {
                    wrap_mode.map(Some)
                },
            };
            admin.update_agent(&user_id, &agent_id, &update).await?;
            println!("updated agent {agent_id:?}");
        }
        Command::Agent(AgentCommand::Disable { user_id, agent_id }) => {
            admin.set_agent_disabled(&user_id, &agent_id, true).await?;
            println!("disabled agent {agent_id:?}");
        }
        Command::Agent(AgentCommand::Enable { user_id, agent_id }) => {
            admin.set_agent_disabled(&user_id, &agent_id, false).await?;
            println!("enabled agent {agent_id:?}");
        }
        Command::Session(SessionCommand::Logout { user_id, agent_id }) => {
            let ended = admin.logout(&user_id, &agent_id).await?;
            println!("logged agent {agent_id:?} out of {ended} session(s)");
        }
        Command::Reason(ReasonCommand::List { user_id }) => {
            for r in admin.reasons(&user_id).await? {
                let limit = r
                    .limit_seconds
                    .map_or("no limit".to_owned(), |l| format!("limit {l} s"));
                let active = if r.active { "" } else { " (inactive)" };
                println!("{}\t{}\t{limit}{active}", r.code, r.label);
            }
        }
        Command::Reason(ReasonCommand::Create {
            user_id,
            code,
            label,
            limit_seconds,
        }) => {
            let r = admin
                .create_reason(&user_id, &code, &label, limit_seconds)
                .await?;
            println!("created break reason {:?}", r.code);
        }
        Command::Reason(ReasonCommand::Update {
            user_id,
            code,
            label,
            limit_seconds,
            no_limit,
            active,
        }) => {
            let update = ReasonUpdate {
                label,
                limit_seconds: if no_limit {
                    Some(None)
                } else {
                    limit_seconds.map(Some)
                },
                active,
            };
            let r = admin.update_reason(&user_id, &code, &update).await?;
            println!("updated break reason {:?}", r.code);
        }
        Command::History {
            user_id,
            agent,
            from,
            to,
            after,
            limit,
        } => {
            let events = admin
                .history(&user_id, agent.as_deref(), from, to, after, limit)
                .await?;
            for e in events {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    e.id,
                    e.at,
                    e.agent_id.unwrap_or_default(),
                    e.kind,
                    e.actor,
                    e.details
                );
            }
        }
        Command::Session(SessionCommand::Create { user_id, agent_id }) => {
            println!("{}", admin.create_session(&user_id, &agent_id).await?);
        }
        Command::Break(BreakCommand::Start {
            user_id,
            agent_id,
            reason,
        }) => {
            let started = admin.start_break(&user_id, &agent_id, &reason).await?;
            println!("agent {agent_id:?} is on break ({})", started.reason);
        }
        Command::Break(BreakCommand::End { user_id, agent_id }) => {
            let ended = admin.end_break(&user_id, &agent_id).await?;
            println!(
                "agent {agent_id:?} is back from break ({}, {} s)",
                ended.reason,
                ended.elapsed(0)
            );
        }
        Command::Wrap(WrapCommand::Start {
            user_id,
            agent_id,
            call_id,
            number,
            seconds,
        }) => {
            let wrap = admin
                .start_wrap_up(&user_id, &agent_id, &call_id, &number, seconds)
                .await?;
            let ends = wrap
                .ends_at
                .map_or("untimed".to_owned(), |t| format!("ends at {t}"));
            println!(
                "agent {agent_id:?} is in wrap-up for call {:?} ({ends})",
                wrap.call_id
            );
        }
        Command::Wrap(WrapCommand::End { user_id, agent_id }) => {
            admin.end_wrap_up(&user_id, &agent_id).await?;
            println!("agent {agent_id:?} ended wrap-up");
        }
    }
    Ok(())
}
