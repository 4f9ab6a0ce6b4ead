use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use portcullis_grants::Timestamp;
use portcullis_server_core::{MemoryStore, Store, SystemClock};
use portcullis_store_sql::SqlStore;

use crate::app::{FltrApp, FltrStore};
use crate::bootstrap::Bootstrap;
use crate::config::{Settings, StartError, build_app_with, issuer_for, print_created};

/// How often expired codes, tokens, sessions and pending requests are purged.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// Most rows one purge batch deletes, so a purge never holds the store for long.
const PURGE_BATCH: usize = 1000;

/// An HTTP framework binding that serves the FLTR app until the process is told to stop.
pub trait Binding {
    /// Serves `app` on `listener` until SIGINT or SIGTERM, then drains open connections.
    fn serve<S: FltrStore>(
        &self,
        app: Arc<FltrApp<S, SystemClock>>,
        listener: std::net::TcpListener,
    ) -> impl Future<Output = std::io::Result<()>>;
}

/// The storage a `--database` value selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// In-process memory, lost on exit.
    Memory,
    /// A SQLite file (`sqlite:PATH`, created on first start) or a PostgreSQL
    /// server (`postgres://...`) shared by several replicas.
    Sql(String),
}

impl Database {
    /// Parses a `--database` value.
    ///
    /// # Errors
    ///
    /// [`StartError::Database`] for an unsupported value.
    pub fn parse(value: &str) -> Result<Self, StartError> {
        if value == "memory" {
            Ok(Self::Memory)
        } else if value.starts_with("sqlite:")
            || value.starts_with("postgres://")
            || value.starts_with("postgresql://")
        {
            Ok(Self::Sql(value.to_owned()))
        } else {
            // The value may hold a database password, so the error does not repeat it.
            Err(StartError::Database)
        }
    }
}

/// Starts the FLTR server as the settings say and serves until stopped.
///
/// Binds the listener, opens the store, applies the bootstrap, prints created
/// credentials once, logs `listening on http://ADDR`, purges expired records
/// every minute in the background, and hands the app to `binding`.
///
/// # Errors
///
/// Any failure to bind, open the store, bootstrap or serve.
pub async fn launch<B: Binding>(
    settings: Settings,
    binding: B,
) -> Result<(), Box<dyn std::error::Error>> {
    let database = Database::parse(&settings.database)?;
    let bootstrap = settings
        .bootstrap
        .as_deref()
        .map(Bootstrap::from_file)
        .transpose()?;
    let listener = std::net::TcpListener::bind(settings.listen)?;
    listener.set_nonblocking(true)?;
    match database {
        Database::Sql(url) => {
            let store = SqlStore::connect(&url).await?;
            serve_store(store, &settings, bootstrap.as_ref(), listener, binding).await
        }
        Database::Memory => {
            serve_store(
                MemoryStore::new(),
                &settings,
                bootstrap.as_ref(),
                listener,
                binding,
            )
            .await
        }
    }
}

async fn serve_store<S: FltrStore, B: Binding>(
    store: S,
    settings: &Settings,
    bootstrap: Option<&Bootstrap>,
    listener: std::net::TcpListener,
    binding: B,
) -> Result<(), Box<dyn std::error::Error>> {
    let addr = listener.local_addr()?;
    let issuer = issuer_for(settings.issuer.as_deref(), addr)?;
    let (app, created) = build_app_with(
        store,
        SystemClock,
        &issuer,
        bootstrap,
        settings.app_options(),
    )
    .await?;
    print_created(&created);
    let purger = tokio::spawn(purge_forever(Arc::clone(&app)));
    tracing::info!(%issuer, "listening on http://{addr}");
    let served = binding.serve(app, listener).await;
    purger.abort();
    tracing::info!("stopped");
    Ok(served?)
}

/// Deletes expired records in bounded batches, once a minute, forever.
async fn purge_forever<S: FltrStore>(app: Arc<FltrApp<S, SystemClock>>) {
    let mut ticks = tokio::time::interval(PURGE_INTERVAL);
    loop {
        ticks.tick().await;
        purge_expired(app.server().store(), app.server().now()).await;
    }
}

/// Purges everything expired at `now`, one batch at a time; returns the rows deleted.
pub async fn purge_expired<S: Store>(store: &S, now: Timestamp) -> usize {
    let mut total = 0;
    loop {
        match store.purge_expired(now, PURGE_BATCH).await {
            Ok(removed) => {
                total += removed;
                if removed < PURGE_BATCH {
                    break;
                }
                // Let requests in between batches.
                tokio::task::yield_now().await;
            }
            Err(error) => {
                tracing::warn!(%error, "purging expired records failed; retrying next minute");
                break;
            }
        }
    }
    if total > 0 {
        tracing::debug!(removed = total, "purged expired records");
    }
    total
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
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

/// Sends `tracing` events to standard output, filtered by `RUST_LOG` (default
/// `info`), with ANSI colours only when standard output is a terminal.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_values() {
        assert_eq!(Database::parse("memory").unwrap(), Database::Memory);
        let sqlite = Database::parse("sqlite:fltr.db").unwrap();
        assert_eq!(sqlite, Database::Sql("sqlite:fltr.db".into()));
        assert!(matches!(
            Database::parse("postgres://u@h/db").unwrap(),
            Database::Sql(_)
        ));
        assert!(Database::parse("mysql://x").is_err());
    }
}
