//! `fltr-server-actix`: the FLTR example authorization server on actix-web.

use std::sync::Arc;

use clap::Parser;
use portcullis_fltr::{Binding, FltrApp, FltrStore, Settings};
use portcullis_server_core::SystemClock;

/// Serves on actix-web, which stops gracefully on SIGINT and SIGTERM.
struct Actix;

impl Binding for Actix {
    async fn serve<S: FltrStore>(
        &self,
        app: Arc<FltrApp<S, SystemClock>>,
        listener: std::net::TcpListener,
    ) -> std::io::Result<()> {
        portcullis_actix_server::server(app, listener, true)?.await
    }
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    portcullis_fltr::init_logging();
    match portcullis_fltr::launch(Settings::parse(), Actix).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the server failed");
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
