use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use portcullis_server_core::{AuthorizationServer, Clock};

use crate::app::{AppOptions, FltrApp, FltrStore};
use crate::bootstrap::{Bootstrap, BootstrapError, BootstrapSource, Created, apply};
use crate::profile::server_config;

/// Command-line settings shared by the FLTR example servers; each flag also
/// reads a `PORTCULLIS_*` environment variable.
#[derive(Clone, Debug, Parser)]
#[command(
    version,
    about = "An OAuth 2.1 authorization server compatible with FLTR's OAuth API"
)]
pub struct Settings {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, env = "PORTCULLIS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Issuer identifier (RFC 8414), such as `https://auth.example.com`; defaults to
    /// `http://` followed by the bound address.
    #[arg(long, env = "PORTCULLIS_ISSUER")]
    pub issuer: Option<String>,
    /// Storage: `sqlite:PATH` (created on first start), `postgres://USER@HOST/DB`
    /// for several replicas, or `memory` (lost on exit).
    #[arg(long, env = "PORTCULLIS_DATABASE", default_value = "sqlite:fltr.db")]
    pub database: String,
    /// TOML file of users and OAuth apps to create at start, idempotently.
    #[arg(long, env = "PORTCULLIS_BOOTSTRAP")]
    pub bootstrap: Option<PathBuf>,
    /// Dynamic client registrations one source address may make per minute.
    #[arg(long, env = "PORTCULLIS_REGISTRATION_LIMIT", default_value_t = 20)]
    pub registration_limit: u32,
}

impl Settings {
    /// Returns the app options these settings choose.
    pub fn app_options(&self) -> AppOptions {
        AppOptions {
            registrations_per_minute: self.registration_limit,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The issuer is not an absolute http or https URI without query or fragment.
    #[error("invalid issuer {0:?}: use an absolute http or https URI without query or fragment")]
    Issuer(String),
    /// The database setting is not supported.
    #[error("unsupported --database value: use sqlite:PATH, postgres://USER@HOST/DB or memory")]
    Database,
    /// Bootstrap failed.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
}

/// Returns the issuer: the configured one, or `http://` and the bound address.
///
/// # Errors
///
/// [`StartError::Issuer`] when the configured issuer is not a valid issuer identifier.
pub fn issuer_for(configured: Option<&str>, bound: SocketAddr) -> Result<String, StartError> {
    let Some(issuer) = configured else {
        return Ok(format!("http://{bound}"));
    };
    let issuer = issuer.trim_end_matches('/');
    let valid = url::Url::parse(issuer).is_ok_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.query().is_none()
            && url.fragment().is_none()
    }) && !issuer.contains('#')
        && !issuer.contains('?');
    if valid {
        Ok(issuer.to_owned())
    } else {
        Err(StartError::Issuer(issuer.to_owned()))
    }
}

/// Builds the FLTR app over `store` and applies the bootstrap.
///
/// With no bootstrap and no `demo` user in the store, a demo user and a demo
/// confidential app are created. Returns what was created, for printing once.
///
/// # Errors
///
/// [`StartError`] for an invalid issuer or a failed bootstrap.
pub async fn build_app<S: FltrStore, C: Clock>(
    store: S,
    clock: C,
    issuer: &str,
    bootstrap: Option<&Bootstrap>,
) -> Result<(Arc<FltrApp<S, C>>, Vec<Created>), StartError> {
    build_app_with(store, clock, issuer, bootstrap, AppOptions::default()).await
}

/// Builds the FLTR app as [`build_app`] does, with explicit [`AppOptions`].
///
/// # Errors
///
/// [`StartError`] for an invalid issuer or a failed bootstrap.
pub async fn build_app_with<S: FltrStore, C: Clock>(
    store: S,
    clock: C,
    issuer: &str,
    bootstrap: Option<&Bootstrap>,
    options: AppOptions,
) -> Result<(Arc<FltrApp<S, C>>, Vec<Created>), StartError> {
    let config = server_config(issuer).map_err(|_| StartError::Issuer(issuer.to_owned()))?;
    let now = clock.now();
    let created = match bootstrap {
        Some(bootstrap) => {
            apply(
                &store,
                &config.catalog,
                bootstrap,
                now,
                BootstrapSource::File,
            )
            .await?
        }
        None if store
            .user_by_name("demo")
            .await
            .map_err(BootstrapError::from)?
            .is_none() =>
        {
            let demo = Bootstrap::demo()?;
            apply(&store, &config.catalog, &demo, now, BootstrapSource::Demo).await?
        }
        None => Vec::new(),
    };
    let server = AuthorizationServer::new(config, store, clock);
    Ok((Arc::new(FltrApp::new(server, options)), created))
}

/// Prints created credentials to standard output, once, never to the log.
pub fn print_created(created: &[Created]) {
    for item in created {
        match item {
            Created::User {
                username,
                generated_password: Some(password),
            } => {
                println!("created user {username} with password {password}");
            }
            Created::User {
                username,
                generated_password: None,
            } => println!("created user {username}"),
            Created::App {
                name,
                client_id,
                generated_secret: Some(secret),
            } => {
                println!("created app {name:?}: client_id={client_id} client_secret={secret}");
            }
            Created::App {
                name,
                client_id,
                generated_secret: None,
            } => {
                println!("created app {name:?}: client_id={client_id}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_defaults_to_bound_address() {
        let bound: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        assert_eq!(issuer_for(None, bound).unwrap(), "http://127.0.0.1:4321");
        assert_eq!(
            issuer_for(Some("https://auth.example/"), bound).unwrap(),
            "https://auth.example"
        );
        assert!(issuer_for(Some("auth.example"), bound).is_err());
        assert!(issuer_for(Some("https://auth.example/?x=1"), bound).is_err());
        assert!(issuer_for(Some("https://auth.example/#f"), bound).is_err());
    }
}
