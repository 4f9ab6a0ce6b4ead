//! `fltr-server-actix`: the FLTR example authorization server on actix-web.

use clap::Parser;
use portcullis_fltr::{Bootstrap, Settings, StartError, build_app_with, issuer_for, print_created};
use portcullis_server_core::{MemoryStore, SystemClock};
use tracing_subscriber::EnvFilter;

#[actix_web::main]
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
    let listener = std::net::TcpListener::bind(settings.listen)?;
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
    // actix-web stops gracefully on SIGINT and SIGTERM.
    portcullis_actix_server::server(app, listener, true)?.await?;
    tracing::info!("stopped");
    Ok(())
}
