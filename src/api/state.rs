//! What every handler can reach.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::throttle::AuthGuard;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::service::Service;

#[derive(Clone)]
pub struct AppState {
    /// The one door for every change (and the reads the routes answer).
    pub service: Service,
    pub config: Arc<Config>,
    /// Set on SIGINT/SIGTERM: `/readyz` answers 503 while in-flight requests finish.
    pub draining: Arc<AtomicBool>,
    /// This server's request counts, served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The throttle of failed authentication.
    pub guard: Arc<AuthGuard>,
}

impl AppState {
    pub fn new(service: Service) -> AppState {
        let config = service.shared_config();
        let metrics = Arc::new(Metrics::new());
        AppState {
            service,
            guard: Arc::new(AuthGuard::new(
                config.auth_failures_per_minute,
                config.trusted_proxies(),
                metrics.clone(),
            )),
            config,
            draining: Arc::new(AtomicBool::new(false)),
            metrics,
        }
    }
}
