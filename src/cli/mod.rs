//! The operator CLI: `agentprofile [serve|migrate|account|token|agent|session|break|call|wrap|report|webhook]`.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

mod demo;
mod operator;
mod report_table;
mod run;
mod times;
mod webhooks;

pub use demo::demo_if_new;
pub use operator::{Operator, OperatorError};
pub use run::run;
pub use times::{Times, parse_time};
pub use webhooks::WebhookCommand;

use crate::config::Config;
use crate::domain::{Bucket, CallDirection, Scope, WrapMode};

#[derive(Debug, Parser)]
#[command(
    name = "agentprofile",
    version,
    about = "The agentProfile v2 API server and its operator commands",
    after_help = "The server's own options (listen address, timeouts, limits, CORS, …): agentprofile serve --help"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The options every command reads: where the database is and how to log. The others are the
/// server's: listed by `serve --help` only, hidden elsewhere (every command still reads them from
/// the environment, and accepts them, so existing scripts keep working).
const SHARED: &[&str] = &[
    "database_url",
    "db_max_connections",
    "db_acquire_timeout_secs",
    "log_format",
    "log_level",
];

/// The command line, with the server's options shown on `serve` alone.
pub fn command() -> clap::Command {
    let cli = Cli::command();
    let server: Vec<clap::Arg> = cli
        .get_arguments()
        .filter(|a| !SHARED.contains(&a.get_id().as_str()))
        .cloned()
        .collect();
    let hidden = server.iter().fold(cli, |cli, arg| {
        cli.mut_arg(arg.get_id().clone(), |a| a.hide(true))
    });
    // `serve`'s own copies: a subcommand that has an argument is not given the global one, and
    // a value set on either level reaches `Cli::config` (clap merges global values by source).
    hidden.mut_subcommand("serve", |serve| {
        serve.args(server.into_iter().map(|a| a.global(false)))
    })
}

/// Parses the process's arguments (exits with clap's message on an error, or for `--help`).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default): listen address, limits and timeouts in `serve --help`.
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
    /// Print the time each agent spent in each state over a period, as a table (or CSV).
    Report {
        user_id: String,
        /// Unix seconds or ISO 8601 (a date is in the account's zone); default: today's start.
        #[arg(long)]
        from: Option<String>,
        /// Exclusive, as --from; default: the end of --from's day.
        #[arg(long)]
        to: Option<String>,
        /// Only this agent (repeatable).
        #[arg(long = "agent")]
        agents: Vec<String>,
        /// hour, day or week: one row per agent and bucket.
        #[arg(long)]
        bucket: Option<Bucket>,
        /// Print CSV (the API's header) instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Seal the reports' roll-up of every account up to the last complete day, then exit (the
    /// sweeper does this in the background, a few days per sweep).
    RollUp,
    /// An account's webhook endpoints (README "Webhooks").
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Print the history of state changes, newest first (`--oldest-first` reads a day in order).
    History {
        user_id: String,
        /// Only this agent's events.
        #[arg(long)]
        agent: Option<String>,
        /// From this time (inclusive): RFC 3339 (2026-12-06T09:00:00+01:00) or Unix seconds.
        #[arg(long, value_parser = parse_time)]
        from: Option<i64>,
        /// Until this time (exclusive): RFC 3339 or Unix seconds.
        #[arg(long, value_parser = parse_time)]
        to: Option<i64>,
        /// Oldest first.
        #[arg(long)]
        oldest_first: bool,
        /// The next page: events past this id in the listing's order (the last id printed).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
        #[command(flatten)]
        times: Times,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create {
        user_id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// The IANA time zone its reports' days follow (default UTC).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Set the IANA time zone the account's reports' days and weeks follow (e.g. Europe/Berlin).
    TimeZone { user_id: String, zone: String },
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
    List {
        user_id: String,
        #[command(flatten)]
        times: Times,
    },
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
