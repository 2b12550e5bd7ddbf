//! What the integration tests share (`tests/api` and `tests/browser`): a real server on a free
//! port with a fresh database of its own, in process (`TestApp`) or as the deployed binary
//! (`ServerProcess`), and a real HTTP client. Every conformance test runs once on SQLite and
//! once on PostgreSQL (`on_both_databases!`).
//!
//! PostgreSQL comes from TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! each test gets a new database, dropped at the end. What a test needs and lacks (PostgreSQL,
//! a browser, a tool) is skipped loudly, except under CI=true, where it fails (`skip`).
//!
//! Every path of `agentprofile` the tests' support uses is named once, below: where the library
//! moves one, the fix is here.

// The library's paths, once: the support and the test modules take them from here.
pub use agentprofile::api::v1::scope_of;
pub use agentprofile::api::{ApiError, openapi};
pub use agentprofile::app::{AppState, serve};
pub use agentprofile::cli::{Cli, Operator, OperatorError};
pub use agentprofile::config::Config;
pub use agentprofile::domain::{
    Act, Actor, CallOutcome, NewAgent, NewTag, Scope, WrapMode, now_unix,
};
pub use agentprofile::live::ViewStats;
pub use agentprofile::net;
pub use agentprofile::secrets::{hash, new_ssid};
pub use agentprofile::service::{
    CallRequest, EndedBy, Service, ServiceError, WrapRequest, connect,
};
pub use agentprofile::store::Store;

mod calls;
mod contract;
mod db;
mod fixtures;
mod http;
mod macros;
mod process;
mod reports;
mod server;
mod skip;
mod tags;
mod upstream;
mod v1;
mod webhooks;

pub use calls::*;
pub use contract::*;
pub use db::*;
pub use fixtures::*;
pub use http::*;
pub use process::*;
pub use reports::*;
pub use server::*;
pub use skip::*;
pub use tags::*;
pub use upstream::*;
pub use webhooks::*;
