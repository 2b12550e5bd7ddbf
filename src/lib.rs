//! agentprofile: a drop-in reimplementation of the DeepCall agentProfile v2 API.
//!
//! A request flows one way: [`api`] reads its parameters (any Content-Type) and authenticates
//! it (one extractor), [`service`] applies the rule and calls [`store`], which writes the change
//! and its history event in one transaction; the answer is an envelope. The CLI ([`cli`]) and
//! the first-run demo ([`seed`]) reach the same [`service`]. [`domain`] holds the types and the
//! pure rules; [`state::AppState`] is what every handler can reach. [`live`] holds the view
//! that answers the upstream routes' reads from memory, the change feed that keeps it
//! coherent with every commit, and the buffer of heartbeats waiting for their flush.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod live;
pub mod metrics;
pub mod net;
pub mod secrets;
pub mod service;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod layering;
