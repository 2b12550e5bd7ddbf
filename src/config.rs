//! Every setting, read from the command line, the environment and `.env`, with defaults.
//! One struct, passed down; nothing global.

use std::net::{IpAddr, SocketAddr};

use clap::{Parser, ValueEnum};
use ipnet::IpNet;

#[derive(Debug, Clone, Parser)]
#[command(name = "agentprofile")]
pub struct Config {
    /// Database: a postgres:// URL, or an SQLite file (sqlite://PATH or a plain path).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/agentprofile.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Address the server listens on.
    #[arg(
        long = "bind",
        env = "BIND_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind_addr: SocketAddr,

    /// Most connections the database pool opens.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub db_max_connections: u32,

    /// Seconds to wait for a database connection before answering 1010 (HTTP 503).
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub db_acquire_timeout_secs: u64,

    /// A session ends after this many seconds without a ping (setWebPingTime).
    #[arg(long, env = "SESSION_IDLE_TIMEOUT_SECS", default_value_t = 1800, value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub session_idle_timeout_secs: i64,

    /// A session ends this many seconds after login, pings or not.
    #[arg(long, env = "SESSION_MAX_AGE_SECS", default_value_t = 43200, value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub session_max_age_secs: i64,

    /// Milliseconds between flushes of heartbeats that change nothing but a timestamp
    /// (10–1000): what a crash may lose of them.
    #[arg(long, env = "PING_FLUSH_MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=1000), global = true)]
    pub ping_flush_ms: u64,

    /// An agent whose browser has not been heard from for this many seconds is `stale`.
    #[arg(long, env = "PRESENCE_STALE_SECS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..), global = true)]
    pub presence_stale_secs: i64,

    /// … and `offline` after this many (more than PRESENCE_STALE_SECS; wide enough for a
    /// background tab, whose timers browsers throttle to about once a minute).
    #[arg(long, env = "PRESENCE_OFFLINE_SECS", default_value_t = 300, value_parser = clap::value_parser!(i64).range(2..), global = true)]
    pub presence_offline_secs: i64,

    /// Milliseconds between the deployment's sweeps, which record presence crossings and
    /// the ends of wrap-ups whose time ran out; 0 turns the sweeper off (then no presence
    /// events are recorded, and a wrap-up's end is recorded by the next write that reads it).
    #[arg(long, env = "SWEEP_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000), global = true)]
    pub sweep_interval_ms: u64,

    /// Most event streams (`GET /v1/stream`) one account may have open on one server.
    #[arg(long, env = "STREAM_MAX_PER_ACCOUNT", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000), global = true)]
    pub stream_max_per_account: u32,

    /// Notification tags older than this many days are deleted by the sweeper.
    #[arg(long, env = "TAGS_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=36_500), global = true)]
    pub tags_retention_days: i64,

    /// History events older than this many days are deleted by the sweeper (0: kept forever);
    /// reports refuse periods that start before what is kept.
    #[arg(long, env = "EVENTS_RETENTION_DAYS", default_value_t = 400, value_parser = clap::value_parser!(i64).range(0..=36_500), global = true)]
    pub events_retention_days: i64,
    /// Seconds a webhook endpoint has to answer a delivery (connecting included).
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub webhook_timeout_secs: u64,

    /// Attempts at one event before its endpoint is disabled (a `webhook.disabled` event).
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=40), global = true)]
    pub webhook_max_attempts: u32,

    /// First retry wait in milliseconds, doubled at each further attempt (with jitter).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=3_600_000), global = true)]
    pub webhook_retry_base_ms: u64,

    /// Allow `http://` webhook URLs (tests, local use); otherwise only `https://`.
    #[arg(long, env = "WEBHOOK_ALLOW_HTTP", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub webhook_allow_http: bool,

    /// Allow webhook URLs that resolve to loopback, private or link-local addresses.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub webhook_allow_private: bool,

    /// Wrap-up length of a new account (its agents may override it).
    #[arg(long, env = "DEFAULT_WRAP_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(i64).range(0..), global = true)]
    pub default_wrap_seconds: i64,

    /// Largest request body in bytes; larger ones answer 1047 with HTTP 413.
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 16384, value_parser = clap::value_parser!(u64).range(64..), global = true)]
    pub body_limit_bytes: u64,

    /// Seconds a request may take before it answers 1032 with HTTP 503.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub request_timeout_secs: u64,

    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(
        long,
        env = "SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 20,
        global = true
    )]
    pub shutdown_timeout_secs: u64,

    // ---- Client connections (see `net`): what closes idle and half-sent ones.
    /// Seconds a client has to send a request's head in full: from the connection's opening,
    /// and on a kept-alive connection from the first byte of the next request. Closes
    /// connections that send nothing or half a header (slowloris).
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300), global = true)]
    pub header_read_timeout_secs: u64,

    /// Seconds a connection is kept open after an answer, waiting for the client's next
    /// request (HTTP/1.1 keep-alive, and HTTP/2); an open event stream is not idle.
    #[arg(long, env = "KEEP_ALIVE_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub keep_alive_timeout_secs: u64,

    /// Most client connections open at once; further clients wait in the listen backlog
    /// until one closes. Needs as many open files (the server raises its soft limit).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_connections: u32,

    /// HTTP/2: most requests one connection may have in progress at once.
    #[arg(long, env = "HTTP2_MAX_CONCURRENT_STREAMS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000), global = true)]
    pub http2_max_concurrent_streams: u32,
    // ---- end of client connections.
    /// Browser origins allowed by CORS: `*` for any, or a comma-separated list.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "*", global = true, value_parser = parse_origins)]
    pub cors_allowed_origins: String,

    /// Failed authentications (unknown ssid or token) allowed per minute from one client
    /// address, and for one `userId`, before further attempts answer 429; 0 turns it off.
    #[arg(
        long,
        env = "AUTH_FAILURES_PER_MINUTE",
        default_value_t = 20,
        global = true
    )]
    pub auth_failures_per_minute: u32,

    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR networks, comma
    /// separated); from any other peer the header is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", global = true, value_parser = parse_proxies)]
    pub trusted_proxies: String,

    /// Send `Strict-Transport-Security` (one year, subdomains): only behind HTTPS, since
    /// browsers then refuse plain HTTP to the host for that long.
    #[arg(long, env = "HSTS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub hsts: bool,

    /// On a brand-new SQLite database, create a demo account and print how to call it.
    #[arg(long, env = "DEMO_SEED", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub demo_seed: bool,

    /// When set, `GET /metrics` requires `Authorization: Bearer <this token>`.
    #[arg(long, env = "METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Give the agent gauges on `GET /metrics` per account too (an `account` label holding
    /// each `userId`), up to 1000 accounts; off: only the totals over all accounts.
    #[arg(long, env = "METRICS_ACCOUNT_LABELS", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub metrics_account_labels: bool,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `agentprofile=debug`.
    #[arg(long, env = "LOG_LEVEL", default_value = "info", global = true, value_parser = parse_log_filter)]
    pub log_level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The origins of a `CORS_ALLOWED_ORIGINS` value; None for `*` (any origin).
pub fn origin_list(value: &str) -> Option<Vec<&str>> {
    let value = value.trim();
    (value != "*").then(|| {
        value
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect()
    })
}

/// `*`, or origins such as `https://app.example.com`, separated by commas.
fn parse_origins(value: &str) -> Result<String, String> {
    for origin in origin_list(value).unwrap_or_default() {
        let url = url::Url::parse(origin).map_err(|e| format!("{origin:?}: {e}"))?;
        if url.origin().ascii_serialization() != origin.trim_end_matches('/') {
            return Err(format!(
                "{origin:?} is not an origin like https://app.example.com"
            ));
        }
        if axum::http::HeaderValue::from_str(origin).is_err() {
            return Err(format!("{origin:?} cannot be sent in a header"));
        }
    }
    Ok(value.trim().to_owned())
}

fn parse_proxies(value: &str) -> Result<String, String> {
    parse_trusted(value).map(|_| value.trim().to_owned())
}

/// Parses `TRUSTED_PROXIES`: addresses or CIDR networks, separated by commas.
pub fn parse_trusted(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an address or a network like 10.0.0.0/8"))
        })
        .collect()
}

/// A tracing filter such as `info` or `info,agentprofile=debug`.
fn parse_log_filter(value: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(value)
        .map(|_| value.to_owned())
        .map_err(|e| e.to_string())
}

impl Config {
    /// The defaults, ignoring the environment: a base for tests and embedding.
    pub fn defaults() -> Config {
        let mut cmd = <Config as clap::CommandFactory>::command();
        // Read no environment variable, so a developer's shell cannot change a test.
        let args: Vec<clap::Arg> = cmd.get_arguments().cloned().collect();
        for arg in args {
            let id = arg.get_id().clone();
            cmd = cmd.mut_arg(id, |a| a.env(None::<&str>));
        }
        let matches = cmd.get_matches_from(["agentprofile"]);
        <Config as clap::FromArgMatches>::from_arg_matches(&matches).expect("defaults parse")
    }

    /// What no single setting can check: the presence thresholds' order.
    pub fn check(&self) -> Result<(), String> {
        if self.presence_offline_secs <= self.presence_stale_secs {
            return Err(format!(
                "PRESENCE_OFFLINE_SECS ({}) must be more than PRESENCE_STALE_SECS ({})",
                self.presence_offline_secs, self.presence_stale_secs
            ));
        }
        Ok(())
    }

    pub fn presence(&self) -> crate::domain::PresenceRule {
        crate::domain::PresenceRule {
            stale_secs: self.presence_stale_secs,
            offline_secs: self.presence_offline_secs,
        }
    }

    /// `TRUSTED_PROXIES`, parsed (it was checked when it was read).
    pub fn trusted_proxies(&self) -> Vec<IpNet> {
        parse_trusted(&self.trusted_proxies).unwrap_or_default()
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        for (flag, value, name) in [
            ("--bind", "nonsense", "BIND_ADDR"),
            ("--body-limit-bytes", "abc", "BODY_LIMIT_BYTES"),
            (
                "--cors-allowed-origins",
                "not an origin",
                "CORS_ALLOWED_ORIGINS",
            ),
            (
                "--cors-allowed-origins",
                "https://a.example/path",
                "CORS_ALLOWED_ORIGINS",
            ),
            ("--log-level", "info,[=", "LOG_LEVEL"),
            ("--log-format", "xml", "LOG_FORMAT"),
        ] {
            let err = Config::try_parse_from(["agentprofile", flag, value]).unwrap_err();
            assert!(err.to_string().contains(name), "{flag} {value}: {err}");
        }
        let ok = Config::try_parse_from([
            "agentprofile",
            "--cors-allowed-origins",
            "https://a.example, http://localhost:3000",
        ]);
        assert!(ok.is_ok());
        let crossed = Config::try_parse_from([
            "agentprofile",
            "--presence-stale-secs",
            "300",
            "--presence-offline-secs",
            "300",
        ])
        .unwrap();
        assert!(
            crossed
                .check()
                .unwrap_err()
                .contains("PRESENCE_OFFLINE_SECS")
        );
        assert!(Config::defaults().check().is_ok());
        assert!(parse_trusted("10.0.0.0/33").is_err());
        assert!(parse_trusted("").unwrap().is_empty());
    }

    #[test]
    fn help_names_every_variable_and_default() {
        let help = <Config as clap::CommandFactory>::command()
            .render_long_help()
            .to_string();
        for arg in <Config as clap::CommandFactory>::command().get_arguments() {
            if let Some(env) = arg.get_env() {
                assert!(
                    help.contains(&format!("env: {}", env.to_string_lossy())),
                    "{env:?}"
                );
            }
        }
        assert!(help.contains("[default: 127.0.0.1:8080]"));
    }
}
