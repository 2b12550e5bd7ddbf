//! The operator CLI: `agentprofile [serve|migrate|account|token|agent|session|break|wrap]`.

use clap::{Parser, Subcommand};

use crate::admin::Admin;
use crate::config::Config;

#[derive(Debug, Parser)]
#[command(name = "agentprofile", version, about = "The agentProfile v2 API server and its operator commands")]
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
        /// Wrap-up length in seconds (default: DEFAULT_WRAP_SECONDS).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        wrap_seconds: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Log an agent in; prints the new ssid alone on one line.
    Create { user_id: String, agent_id: String },
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
        Command::Agent(AgentCommand::Create {
            user_id,
            agent_id,
            name,
            wrap_seconds,
        }) => {
            let agent = admin
                .create_agent(&user_id, &agent_id, &name, wrap_seconds)
                .await?;
            println!(
                "created agent {:?} in account {user_id:?} (wrap-up {} s)",
                agent.agent_id, agent.wrap_seconds
            );
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
            let ends = wrap.ends_at.map_or("untimed".to_owned(), |t| format!("ends at {t}"));
            println!("agent {agent_id:?} is in wrap-up for call {:?} ({ends})", wrap.call_id);
        }
        Command::Wrap(WrapCommand::End { user_id, agent_id }) => {
            admin.end_wrap_up(&user_id, &agent_id).await?;
            println!("agent {agent_id:?} ended wrap-up");
        }
    }
    Ok(())
}
