//! The end-to-end cases, one `async fn` per test, each taking a running server's [`Harness`].
//!
//! Every case panics with a message naming the failed check.
//!
//! [`Harness`]: crate::Harness

mod authorize;
mod bearer;
mod flow;
mod introspection;
mod limits;
mod logs;
mod mcp;
mod metadata;
mod methods;
mod python;
mod registration;
mod resource_indicators;
mod resource_metadata;
mod revocation;
mod sign_in;
mod token;

pub use authorize::{
    consent_page_names_client_and_scopes, deny_redirects_access_denied,
    expired_consent_form_is_rejected, forged_consent_form_is_rejected,
    invalid_request_redirects_error_with_state, loopback_redirect_port_is_free,
    mismatched_redirect_uri_shows_error_page, repeated_client_id_or_redirect_uri_shows_error_page,
    sign_in_renews_session_and_consumes_form, unknown_client_shows_error_page,
    wrong_password_shows_page_again,
};
pub use bearer::{
    bearer_scheme_is_case_insensitive, bearer_without_scope_is_forbidden,
    missing_bearer_gets_bare_challenge, query_access_token_is_ignored,
    unknown_bearer_is_invalid_token,
};
pub use flow::{code_exchange_with_client_secret_basic, guide_flow_with_client_secret_post};
pub use introspection::{
    active_token_is_described, inactive_tokens_reveal_nothing, introspection_requires_client_auth,
    other_clients_token_is_inactive,
};
pub use limits::{
    overlong_parameter_value_is_invalid_request, oversized_authorize_query_shows_error_page,
    oversized_token_body_gets_413, random_megabyte_body_is_rejected,
};
pub use logs::logs_contain_no_secrets;
pub use mcp::mcp_client_flow_with_resource;
pub use metadata::{cors_allows_discovery_not_authorize, server_metadata_lists_capabilities};
pub use methods::{
    head_answers_like_get, method_not_allowed_lists_head, post_authorization_request_shows_get_hint,
};
pub use python::python_guide_client_completes_flow;
pub use registration::{
    confidential_client_registration, dynamic_client_errors_stay_on_server,
    invalid_client_metadata_is_rejected, invalid_redirect_uris_are_rejected,
    public_client_registration, registration_ignores_unknown_fields, registration_is_rate_limited,
};
pub use resource_indicators::{
    invalid_resource_is_invalid_target, non_canonical_resource_is_accepted,
    token_resource_must_match_grant,
};
pub use resource_metadata::{
    challenges_link_resource_metadata, resource_metadata_names_each_resource,
};
pub use revocation::{
    confidential_revocation_needs_secret, other_client_cannot_revoke,
    revoked_access_token_stops_working, unknown_token_revocation_succeeds,
    wrong_token_type_hint_still_revokes,
};
pub use sign_in::{
    consent_tabs_survive_sign_in, failed_sign_ins_are_throttled_per_address,
    failed_sign_ins_are_throttled_per_user,
};
pub use token::{
    access_token_expires_after_an_hour, basic_and_body_secret_is_invalid_request,
    code_of_other_client_is_invalid_grant, code_replay_revokes_first_tokens,
    expired_code_is_invalid_grant, failed_code_replay_revokes_nothing,
    narrowed_refresh_keeps_grant_scope, other_redirect_uri_is_invalid_grant,
    refresh_cannot_widen_scope, refresh_token_replay_revokes_grant,
    repeated_token_parameter_is_invalid_request, token_endpoint_rejects_get,
    unsupported_grant_types_are_rejected, wrong_basic_secret_gets_basic_challenge,
    wrong_code_verifier_is_invalid_grant, wrong_secret_in_body_is_invalid_client,
};
