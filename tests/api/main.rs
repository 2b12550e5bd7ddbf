//! The integration tests: one binary, a module per area. Each conformance test runs once on
//! SQLite and once on PostgreSQL (see the support crate, `tests/common`).

#[macro_use]
extern crate agentprofile_test_support;
use agentprofile_test_support as support;

mod alerts;
mod auth_and_codes;
mod cli;
mod cli_output;
mod clients;
mod commit_order;
mod concurrency;
mod connections;
mod contract;
mod deploy_files;
mod deploy_scale;
mod faults;
mod fuzz;
mod instances;
mod lifecycle;
mod live_state;
mod management;
mod metrics;
mod openapi;
mod outage;
mod postman;
mod readme;
mod reports;
mod reports_property;
mod reports_rollup;
mod schemathesis;
mod security_headers;
mod state_engine;
mod stream;
mod tags;
mod throttle;
mod upstream_routes;
mod web_ping;
mod webhooks;
