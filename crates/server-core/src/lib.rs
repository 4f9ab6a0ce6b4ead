//! OAuth 2.1 authorization-server endpoints over [`Store`] and [`Clock`] traits.
//!
//! This crate opens no sockets, spawns no tasks and renders no HTML. An
//! [`AuthorizationServer`] takes framework-neutral requests (the `http` crate's
//! types, or raw query bytes for the authorization endpoint) and returns the
//! response or decision for the host to write out. It reads the time once per
//! request through [`Clock`]; [`SystemClock`] is the only code that reads the
//! wall clock. Storage sits behind [`Store`] (clients, codes, grants, tokens)
//! and [`AccountStore`] (users, sessions, pending requests); [`MemoryStore`]
//! implements both for tests and demos.
//!
//! ```
//! use bytes::Bytes;
//! use portcullis_grants::Resources;
//! use portcullis_scopes::ScopeCatalog;
//! use portcullis_server_core::{AuthorizationServer, ManualClock, MemoryStore, ServerConfig};
//!
//! let mut catalog = ScopeCatalog::new();
//! catalog.register("datasets:read", "Read datasets")?;
//! let resources = Resources::new("https://as.example/v1")?;
//! let config = ServerConfig::new("https://as.example", catalog, resources);
//! let server = AuthorizationServer::new(config, MemoryStore::new(), ManualClock::new(1_000));
//!
//! let request = http::Request::post("/oauth/token")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(Bytes::from_static(b"grant_type=password&username=u&password=p&client_id=x"))?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let response = runtime.block_on(server.token(&request));
//! assert_eq!(response.status(), 400);
//! assert_eq!(response.headers()["cache-control"], "no-store");
//! assert!(std::str::from_utf8(response.body())?.contains("unsupported_grant_type"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Threat model and defaults
//!
//! The defaults follow RFC 9700, the OAuth 2.0 Security Best Current Practice:
//!
//! - Authorization codes are single use and bound to client, redirect URI,
//!   PKCE challenge, scope, user and resource; a replay that proves possession
//!   revokes the grant (RFC 9700 §4.5, OAuth 2.1 §4.1.3). Codes live 60 seconds.
//! - PKCE with `S256` is required of every client (RFC 9700 §2.1.1).
//! - Redirect URIs match as raw strings, with only the loopback port free
//!   (RFC 9700 §4.1.3, RFC 8252 §7.3). Errors for an unverified client or
//!   redirect URI are shown, never redirected (RFC 9700 §4.11.2).
//! - Refresh tokens rotate, and a replayed one revokes the grant (RFC 9700 §4.14.2).
//! - Tokens are opaque 256-bit values stored as SHA-256 hashes; the store never
//!   sees a token, code or secret.
//! - Every authorization response carries `iss` (RFC 9207), defeating mix-up
//!   attacks (RFC 9700 §4.4).
//! - Access tokens are audience-restricted to one resource (RFC 8707, RFC 9700 §2.3).
//!
//! Not supported, on purpose: the implicit grant, the resource owner password
//! grant, tokens in query strings, and the `plain` PKCE method.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod authorize;
mod bearer;
mod client_request;
mod clock;
mod config;
mod introspect;
mod memory;
mod metadata;
mod register;
mod response;
mod revoke;
mod server;
mod store;
mod throttle;
mod token;

#[cfg(feature = "test-util")]
pub mod testing;

pub use authorize::{AuthorizationFailure, AuthorizationPrompt};
pub use bearer::BearerError;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use memory::MemoryStore;
pub use metadata::{Endpoints, authorization_server_metadata_url, protected_resource_metadata_url};
pub use register::{MAX_CLIENT_NAME_CHARS, MAX_REDIRECT_URIS, MAX_REGISTRATION_BYTES};
pub use response::{error_response, store_failure};
pub use server::{AuthorizationServer, ClientAddr, fill_random, generate_secret};
pub use store::{
    AccountStore, BoxError, IssuedTokens, PendingAuthorization, Redemption, Rotation, Session,
    Store, StoreError, StoredCode, User,
};
pub use token::is_form;
