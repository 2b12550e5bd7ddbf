//! agentprofile: a drop-in reimplementation of the DeepCall agentProfile v2 API.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod secrets;
pub mod seed;
pub mod service;
pub mod state;
pub mod store;
pub mod telemetry;
