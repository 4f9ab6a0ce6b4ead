//! Set-up shared by the tests that run the kit against the FLTR example
//! servers: the user and app the servers start with, the kit configuration
//! that matches them, and helpers that read a report.
//!
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;

use portcullis_conformance::{Config, Outcome, Report, run};
use portcullis_fltr::{AppOptions, Bootstrap, BootstrapApp, FltrApp, SCOPES};
use portcullis_server_core::{AccountStore, ManualClock, MemoryStore};

/// User the kit signs in as on the consent page.
pub(crate) const USERNAME: &str = "conformance-user";
/// Password of [`USERNAME`].
pub(crate) const PASSWORD: &str = "a long conformance passphrase";
/// argon2id hash of [`PASSWORD`] with the lowest cost argon2 allows (8 KiB,
/// one pass). A full run signs in 74 times, and with the default cost that
/// FLTR's bootstrap uses each sign-in takes about 0.3 s in a debug build. The
/// server reads the cost from the stored hash, so only the time changes, not
/// the verification.
const PASSWORD_HASH: &str =
    "$argon2id$v=19$m=8,t=1,p=1$Y29uZm9ybWFuY2Utc2FsdA$cpyIN3w2TMGIGJeZAtLP0kPP9aM6qXZSsQcCMUkFL5o";
/// Confidential client the kit acts as.
pub(crate) const CLIENT_ID: &str = "conformance-app";
/// Secret of [`CLIENT_ID`], at least `portcullis_fltr::MIN_SECRET_CHARS` long.
pub(crate) const CLIENT_SECRET: &str = "conformance-secret-0123456789abcdef";
/// The one redirect URI of [`CLIENT_ID`]. It is an `http` loopback URI, so the
/// RFC 8252 §7.3 checks run. The host is `localhost` rather than an IP literal
/// so the host-case check has letters to change, and the query lets the kit
/// check that the server keeps it. The kit never requests this URI.
pub(crate) const REDIRECT_URI: &str = "http://localhost/cb?tenant=conformance";
/// Scope the kit requests: two scopes, so the narrowing check runs, one of them
/// the scope `/v1/datasets` needs.
pub(crate) const REQUESTED_SCOPE: &str = "datasets:read mcp:query";
/// Dynamic registrations allowed per minute and source address, also passed
/// to the kit as `--registration-limit`. A full run registers 19 clients
/// before `register.rate-limited`, which then sends at most 41 more. The FLTR
/// default of 20 would leave too little room for the checks that register.
/// The server counts in fixed one-minute windows of its own clock, which
/// stands still at [`FROZEN_TIME`], so no window ends during a run.
pub(crate) const REGISTRATIONS_PER_MINUTE: u32 = 40;
/// Body of the MCP `initialize` request the kit sends to `/mcp`.
pub(crate) const MCP_INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#;

/// Returns the bootstrap: one confidential app that may request all seven
/// FLTR scopes. The user is created by [`build_app`] instead, with a cheaper
/// password hash than bootstrap would store.
pub(crate) fn bootstrap() -> Bootstrap {
    Bootstrap {
        users: Vec::new(),
        apps: vec![BootstrapApp {
            name: "Conformance kit".to_owned(),
            client_id: Some(CLIENT_ID.to_owned()),
            client_secret: Some(CLIENT_SECRET.to_owned()),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            scopes: SCOPES.iter().map(|(name, _)| (*name).to_owned()).collect(),
            public: false,
        }],
    }
}

/// The time the test servers' clock shows for the whole run, in the middle of a
/// minute. A clock that stands still keeps the per-minute registration limit
/// and the client-authentication throttle from resetting during a burst.
pub(crate) const FROZEN_TIME: u64 = 1_800_000_030;

/// Builds the FLTR app for `issuer` over a memory store and a clock frozen at
/// [`FROZEN_TIME`], with the user [`USERNAME`] and the app of [`bootstrap`].
pub(crate) async fn build_app(issuer: &str) -> Arc<FltrApp<MemoryStore, ManualClock>> {
    let store = MemoryStore::new();
    store
        .insert_user(USERNAME, PASSWORD_HASH)
        .await
        .expect("the memory store accepts the conformance user");
    let options = AppOptions {
        registrations_per_minute: REGISTRATIONS_PER_MINUTE,
    };
    let (app, _created) = portcullis_fltr::build_app_with(
        store,
        ManualClock::new(FROZEN_TIME),
        issuer,
        Some(&bootstrap()),
        options,
    )
    .await
    .expect("the FLTR app builds with the conformance bootstrap");
    app
}

/// Returns the kit configuration for a server at `issuer` started with
/// [`bootstrap`], with every opt-in check enabled that needs no waiting and
/// that plain http on loopback allows. These are `--scope` with two scopes,
/// `--single-redirect-uri`, `--brute-force`, `--unverified-marker-id
/// unverified` and `--registration-limit`. The first resource is `/v1`,
/// called at `/v1/datasets`, and the other is `/mcp`, called with a POST of
/// an MCP `initialize` request. `--code-lifetime` stays off because it waits
/// out the 60 s code lifetime, and `--require-https` stays off because the
/// servers speak plain http.
pub(crate) fn kit_config(issuer: &str) -> Config {
    let mut config = Config::new(
        issuer,
        CLIENT_ID,
        Some(CLIENT_SECRET),
        REDIRECT_URI,
        USERNAME,
        PASSWORD,
    );
    config.scope = Some(REQUESTED_SCOPE.to_owned());
    config.single_redirect_uri = true;
    config.brute_force = true;
    config.resource_url = Some(format!("{issuer}/v1/datasets"));
    config.resource = Some(format!("{issuer}/v1"));
    config.other_resource_url = Some(format!("{issuer}/mcp"));
    config.other_resource = Some(format!("{issuer}/mcp"));
    config.other_resource_scope = Some("mcp:query".to_owned());
    config.other_resource_method = "POST".to_owned();
    config.other_resource_body = Some(MCP_INITIALIZE.to_owned());
    config.unverified_marker_id = Some("unverified".to_owned());
    config.registration_limit = Some(REGISTRATIONS_PER_MINUTE);
    config
}

/// Runs the kit on a blocking thread, since it does blocking I/O, and returns
/// the report.
pub(crate) async fn run_kit(config: Config) -> Report {
    let issuer = config.issuer.clone();
    tokio::task::spawn_blocking(move || run(&config))
        .await
        .expect("the kit's thread finished without panicking")
        .unwrap_or_else(|error| panic!("the kit could not run against {issuer}: {error}"))
}

/// Returns the ids of the checks that failed.
pub(crate) fn failed_ids(report: &Report) -> BTreeSet<String> {
    ids_with(report, |outcome| matches!(outcome, Outcome::Fail { .. }))
}

/// Returns the ids of the checks that passed.
pub(crate) fn passed_ids(report: &Report) -> BTreeSet<String> {
    ids_with(report, |outcome| matches!(outcome, Outcome::Pass))
}

fn ids_with(report: &Report, keep: impl Fn(&Outcome) -> bool) -> BTreeSet<String> {
    report
        .checks
        .iter()
        .filter(|check| keep(&check.outcome))
        .map(|check| check.id.clone())
        .collect()
}
