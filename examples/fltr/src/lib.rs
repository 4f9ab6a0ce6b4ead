//! The FLTR profile of portcullis: an authorization server that is drop-in
//! compatible with FLTR's OAuth API, independent of any HTTP framework.
//!
//! It adds to `portcullis-server-core` what a deployable server needs: the
//! seven FLTR scopes, `fltr_at_` and `fltr_rt_` tokens with FLTR's lifetimes,
//! users with argon2id password hashes, browser sessions, the login and
//! consent page, the sample `/v1/datasets` API with its per-grant rate limit,
//! command-line settings and bootstrap. [`FltrApp::handle`] serves one whole
//! request, so the hyper and actix-web bindings only convert types. The
//! consent page limits failed sign-ins per username and per source address
//! ([`SIGN_IN_FAILURES_PER_USER`], [`SIGN_IN_FAILURES_PER_ADDRESS`]).
//!
//! ```
//! use bytes::Bytes;
//! use portcullis_fltr::build_app;
//! use portcullis_server_core::{ManualClock, MemoryStore};
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! runtime.block_on(async {
//!     let clock = ManualClock::new(1_800_000_000);
//!     let (app, created) = build_app(MemoryStore::new(), clock, "http://127.0.0.1:8080", None).await?;
//!     assert_eq!(created.len(), 2, "the demo user and app");
//!     let request = http::Request::get("/v1/datasets").body(Bytes::new())?;
//!     let response = app.handle(request).await;
//!     assert_eq!(response.status(), 401);
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod app;
mod body;
mod bootstrap;
mod config;
mod consent;
mod launch;
mod pages;
mod passwords;
mod profile;
mod session;
mod sign_in;

pub use api::{Dataset, DatasetList, RATE_LIMIT_PER_HOUR};
pub use app::{AppOptions, FltrApp, FltrStore, MAX_BODY_BYTES, resource_metadata_url};
pub use body::{BodyCollector, BodyTooLarge, MAX_DRAINED_BYTES, too_large, unreadable_body};
pub use bootstrap::{
    Bootstrap, BootstrapApp, BootstrapError, BootstrapSource, BootstrapUser, Created,
    MIN_SECRET_CHARS, apply as apply_bootstrap,
};
pub use config::{Settings, StartError, build_app, build_app_with, issuer_for, print_created};
pub use launch::{Binding, Database, init_logging, launch, purge_expired, shutdown_signal};
pub use passwords::{HashError, hash_password, verify_password};
pub use portcullis_server_core::ClientAddr;
pub use profile::{
    ACCESS_TOKEN_LIFETIME, ACCESS_TOKEN_PREFIX, API_PATH, API_RESOURCE, CODE_PREFIX, MCP_PATH,
    MCP_RESOURCE, REFRESH_TOKEN_LIFETIME, REFRESH_TOKEN_PREFIX, SCOPES, catalog, server_config,
};
pub use session::{PENDING_LIFETIME, SESSION_LIFETIME};
pub use sign_in::{SIGN_IN_FAILURES_PER_ADDRESS, SIGN_IN_FAILURES_PER_USER, SIGN_IN_WINDOW};
