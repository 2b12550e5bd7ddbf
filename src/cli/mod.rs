//! The operator CLI: `agentprofile [serve|migrate|account|token|agent|session|break|call|wrap|webhook]`.

use clap::{Args, Parser, Subcommand};

mod demo;
mod operator;
mod run;
mod webhooks;

pub use demo::demo_if_new;
pub use operator::{Operator, OperatorError};
pub use run::run;
pub use webhooks::WebhookCommand;

use crate::config::Config;
use crate::domain::{CallDirection, Scope, WrapMode};

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
    /// An agent's calls: answered, then ended (wrap-up follows by policy).
    #[command(subcommand)]
    Call(CallCommand),
    /// Start or end an agent's after-call wrap-up.
    #[command(subcommand)]
    Wrap(WrapCommand),
    /// An account's break reasons.
    #[command(subcommand)]
    Reason(ReasonCommand),
    /// An account's webhook endpoints (README "Webhooks").
    #[command(subcommand)]
    Webhook(WebhookCommand),
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
    Create {
        user_id: String,
        /// read (state, roster, history, stream), supervise (also breaks, wrap-ups,
        /// logins and logouts, enable/disable) or admin (also agents, reasons, policy, tokens).
        #[arg(long, default_value = "admin")]
        scope: Scope,
        /// A note to tell it apart in `token list`.
        #[arg(long, default_value = "")]
        label: String,
        /// Seconds until it stops working (default: never).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
        expires_in: Option<i64>,
    },
    /// List an account's tokens (never the tokens themselves): id, scope, label, times.
    List { user_id: String },
    /// Revoke a token by its id (from `token list`), at once.
    Revoke { user_id: String, token_id: i64 },
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
    Create {
        user_id: String,
        agent_id: String,
        /// Register this ssid (one an existing login service issued: 32 to 256 characters
        /// of A-Z a-z 0-9 _ -) instead of making a new one.
        #[arg(long)]
        ssid: Option<String>,
    },
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

/// An agent and a call, as the phone system names it: what a call or a wrap-up starts with.
#[derive(Debug, Args)]
pub struct AgentCall {
    user_id: String,
    agent_id: String,
    #[arg(long)]
    call_id: String,
    /// The customer's number.
    #[arg(long)]
    number: String,
}

#[derive(Debug, Subcommand)]
pub enum CallCommand {
    /// The agent answers (or places) a call.
    Start {
        #[command(flatten)]
        call: AgentCall,
        #[arg(long, value_enum, default_value_t = CallDirection::Inbound)]
        direction: CallDirection,
        /// End the agent's break first, instead of refusing.
        #[arg(long)]
        force: bool,
    },
    /// The agent's call ended: wrap-up follows by policy.
    End {
        user_id: String,
        agent_id: String,
        /// It was not answered, or was rejected: no wrap-up.
        #[arg(long)]
        missed: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WrapCommand {
    /// Start after-call wrap-up.
    Start {
        #[command(flatten)]
        call: AgentCall,
        /// Length in seconds (default: the agent's wrap-up length).
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        seconds: Option<i64>,
    },
    /// End the agent's wrap-up.
    End { user_id: String, agent_id: String },
}
