//! `fltr-server-hyper`: the FLTR example authorization server on hyper.

use std::sync::Arc;

use clap::Parser;
use portcullis_fltr::{Binding, FltrApp, FltrStore, Settings};
use portcullis_server_core::SystemClock;

/// Serves on hyper until SIGINT or SIGTERM.
struct Hyper;

impl Binding for Hyper {
    async fn serve<S: FltrStore>(
        &self,
        app: Arc<FltrApp<S, SystemClock>>,
        listener: std::net::TcpListener,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        portcullis_hyper_server::serve(app, listener, portcullis_fltr::shutdown_signal()).await;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    portcullis_fltr::init_logging();
    match portcullis_fltr::launch(Settings::parse(), Hyper).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "the server failed");
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
