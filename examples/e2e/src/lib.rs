//! End-to-end test cases for the FLTR example servers, over real HTTP.
//!
//! Each case in [`cases`] is an `async fn` that takes a [`Harness`]: the base
//! URL and issuer of a running server, and the [`ManualClock`] it reads, so
//! expiry is tested by moving the clock instead of sleeping. The server must be
//! started with [`bootstrap()`], whose users and apps the cases sign in as. The
//! cases are independent of the HTTP framework, so every binding runs the same
//! list with [`e2e_tests!`] and a function that starts its server:
//!
//! ```ignore
//! async fn start() -> (portcullis_e2e::Harness, impl Sized) {
//!     // Bind 127.0.0.1:0, build the app over an `Arc<ManualClock>` set to
//!     // `portcullis_e2e::START_TIME` with `portcullis_e2e::bootstrap()`,
//!     // serve it, and return the harness with a guard that stops the server.
//! }
//!
//! portcullis_e2e::e2e_tests!(start);
//! ```
//!
//! The HTTP client follows no redirects, uses no proxy and keeps cookies only
//! in a [`Browser`].
#![forbid(unsafe_code)]

use std::sync::Arc;

use portcullis_server_core::ManualClock;

pub mod browser;
pub mod cases;
pub mod challenge;
pub mod client_requests;
pub mod fixture;
pub mod http;
pub mod logs;
pub mod oauth;
pub mod pkce;
pub mod registration;
pub mod resource;

pub use browser::{Browser, ConsentForm, Decision};
pub use fixture::{ALICE, BOB, DESKTOP_APP, REPORTING_APP, START_TIME, WEB_APP, bootstrap};
pub use http::{Form, Http, Reply};
pub use logs::LogRecorder;
pub use pkce::Pkce;

/// A running server under test, started with [`bootstrap()`] and a manual
/// clock set to [`START_TIME`].
#[derive(Debug)]
pub struct Harness {
    issuer: String,
    clock: Arc<ManualClock>,
    http: Http,
}

impl Harness {
    /// Describes a server at `base_url` with issuer `issuer` that reads `clock`.
    pub fn new(base_url: &str, issuer: &str, clock: Arc<ManualClock>) -> Self {
        Self {
            issuer: issuer.to_owned(),
            clock,
            http: Http::new(base_url),
        }
    }

    /// Returns the base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// Returns the issuer identifier the server was started with.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Returns an HTTP client for the server, without cookies.
    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Returns a new browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.http)
    }

    /// Moves the server's clock forward.
    pub fn advance_clock(&self, seconds: u64) {
        self.clock.advance(seconds);
    }
}

/// Expands every case of [`cases`] into a test that starts its own server.
///
/// `$start` is an `async fn() -> (Harness, G)`. The guard `G` is dropped when
/// the test ends, which should stop the server. Tests get `#[tokio::test]`, so
/// the calling crate needs `tokio` with the `macros` and `rt` features. A test
/// attribute given as a second argument replaces it.
///
/// `logs_contain_no_secrets` installs a [`LogRecorder`] on the test's thread
/// before calling `$start`, so it records the server only when the server's
/// tasks run on that thread, as on Tokio's default current-thread test runtime.
/// A server with worker threads of its own uses `e2e_tests!(@cases $start, #[attribute])`,
/// which leaves that one case out, and runs it with a process-wide recorder in
/// a test binary of its own.
#[macro_export]
macro_rules! e2e_tests {
    ($start:path) => {
        $crate::e2e_tests!($start, #[tokio::test]);
    };
    ($start:path, #[$attribute:meta]) => {
        $crate::e2e_tests!(@cases $start, #[$attribute]);

        #[$attribute]
        async fn logs_contain_no_secrets() {
            let recorder = $crate::LogRecorder::new();
            let _installed = recorder.install();
            let (harness, server) = $start().await;
            $crate::cases::logs_contain_no_secrets(&harness, &recorder).await;
            drop(server);
        }
    };
    (@cases $start:path, #[$attribute:meta]) => {
        $crate::e2e_tests!(@each $start, #[$attribute],
            guide_flow_with_client_secret_post,
            code_exchange_with_client_secret_basic,
            python_guide_client_completes_flow,
            unknown_client_shows_error_page,
            mismatched_redirect_uri_shows_error_page,
            repeated_client_id_or_redirect_uri_shows_error_page,
            loopback_redirect_port_is_free,
            invalid_request_redirects_error_with_state,
            deny_redirects_access_denied,
            wrong_password_shows_page_again,
            forged_consent_form_is_rejected,
            sign_in_renews_session_and_consumes_form,
            expired_consent_form_is_rejected,
            consent_page_names_client_and_scopes,
            consent_tabs_survive_sign_in,
            failed_sign_ins_are_throttled_per_user,
            failed_sign_ins_are_throttled_per_address,
            post_authorization_request_shows_get_hint,
            wrong_code_verifier_is_invalid_grant,
            code_replay_revokes_first_tokens,
            failed_code_replay_revokes_nothing,
            expired_code_is_invalid_grant,
            code_of_other_client_is_invalid_grant,
            other_redirect_uri_is_invalid_grant,
            wrong_secret_in_body_is_invalid_client,
            wrong_basic_secret_gets_basic_challenge,
            basic_and_body_secret_is_invalid_request,
            unsupported_grant_types_are_rejected,
            token_endpoint_rejects_get,
            repeated_token_parameter_is_invalid_request,
            refresh_token_replay_revokes_grant,
            refresh_cannot_widen_scope,
            narrowed_refresh_keeps_grant_scope,
            access_token_expires_after_an_hour,
            missing_bearer_gets_bare_challenge,
            unknown_bearer_is_invalid_token,
            bearer_without_scope_is_forbidden,
            bearer_scheme_is_case_insensitive,
            query_access_token_is_ignored,
            oversized_token_body_gets_413,
            oversized_authorize_query_shows_error_page,
            overlong_parameter_value_is_invalid_request,
            random_megabyte_body_is_rejected,
            server_metadata_lists_capabilities,
            cors_allows_discovery_not_authorize,
            head_answers_like_get,
            method_not_allowed_lists_head,
            resource_metadata_names_each_resource,
            challenges_link_resource_metadata,
            public_client_registration,
            confidential_client_registration,
            registration_ignores_unknown_fields,
            invalid_redirect_uris_are_rejected,
            invalid_client_metadata_is_rejected,
            registration_is_rate_limited,
            dynamic_client_errors_stay_on_server,
            mcp_client_flow_with_resource,
            invalid_resource_is_invalid_target,
            token_resource_must_match_grant,
            non_canonical_resource_is_accepted,
            revoked_access_token_stops_working,
            wrong_token_type_hint_still_revokes,
            unknown_token_revocation_succeeds,
            confidential_revocation_needs_secret,
            other_client_cannot_revoke,
            introspection_requires_client_auth,
            active_token_is_described,
            inactive_tokens_reveal_nothing,
            other_clients_token_is_inactive,
        );
    };
    (@each $start:path, #[$attribute:meta], $($case:ident),+ $(,)?) => {
        $(
            #[$attribute]
            async fn $case() {
                let (harness, server) = $start().await;
                $crate::cases::$case(&harness).await;
                drop(server);
            }
        )+
    };
}
