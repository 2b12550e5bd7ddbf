use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use agentprofile::api::AppState;
use agentprofile::cli::{Cli, Command, Operator};
use agentprofile::config::Config;
use agentprofile::service::Service;
use agentprofile::{app, cli, net, store, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is fine; the environment and the defaults still apply.
    let _ = dotenvy::dotenv();
    let cli = cli::parse();
    telemetry::init(&cli.config);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    config.check().map_err(anyhow::Error::msg)?;
    let store = agentprofile::service::connect(&config).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(store, config).await,
        Command::Migrate => {
            println!("database is up to date ({})", store.kind());
            Ok(())
        }
        command => {
            let service = Service::new(store, std::sync::Arc::new(config));
            cli::run(&Operator { service: &service }, command).await
        }
    }
}

async fn serve(store: std::sync::Arc<dyn store::Store>, config: Config) -> anyhow::Result<()> {
    // Each client connection is an open file.
    net::raise_open_file_limit(config.max_connections);
    let listener = tokio::net::TcpListener::bind(config.bind_addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (BIND_ADDR): {e}", config.bind_addr))?;
    let addr = listener.local_addr()?;
    let grace = Duration::from_secs(config.shutdown_timeout_secs);
    let state = AppState::new(Service::new(store.clone(), std::sync::Arc::new(config)));
    cli::demo_if_new(&state.service, addr).await?;
    let draining = state.draining.clone();
    let service = state.service.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app::serve(listener, state, async {
        let _ = stopped.await;
    }));
    tracing::info!(%addr, database = store.kind(), "listening on http://{addr}");

    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    draining.store(true, Ordering::Relaxed);
    let _ = stop.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined??,
        Err(_) => {
            tracing::warn!("requests still running after SHUTDOWN_TIMEOUT_SECS; exiting");
            service.flush_pings_now().await;
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

// jemalloc: small objects in exact size classes and freed memory given back, which keeps the
// live view's 100,000 sessions under 50 MB where the system allocator went over (see
// bench/memory).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
