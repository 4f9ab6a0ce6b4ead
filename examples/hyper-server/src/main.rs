//! `fltr-server-hyper`: the FLTR example authorization server on hyper.

use clap::Parser;
use portcullis_fltr::{Bootstrap, Settings, StartError, build_app_with, issuer_for, print_created};
use portcullis_server_core::{MemoryStore, SystemClock};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(Settings::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the server failed");
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    if settings.database != "memory" {
        return Err(StartError::Database(settings.database).into());
    }
    let options = settings.app_options();
    let bootstrap = settings
        .bootstrap
        .as_deref()
        .map(Bootstrap::from_file)
        .transpose()?;
    let listener = TcpListener::bind(settings.listen).await?;
    let addr = listener.local_addr()?;
    let issuer = issuer_for(settings.issuer.as_deref(), addr)?;
    let (app, created) = build_app_with(
        MemoryStore::new(),
        SystemClock,
        &issuer,
        bootstrap.as_ref(),
        options,
    )
    .await?;
    print_created(&created);
    tracing::info!(%issuer, "listening on http://{addr}");
    portcullis_hyper_server::serve(app, listener, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
