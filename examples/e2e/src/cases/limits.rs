//! Size limits: oversized bodies, queries and values get a clean 4xx, never a
//! panic or a reset connection.

use rand_core::{OsRng, RngCore};

use crate::fixture::{GUIDE_SCOPE, WEB_APP};
use crate::http::Form;
use crate::oauth::{assert_token_error, authorization_query, random_state};
use crate::pkce::Pkce;
use crate::{Harness, Reply};

/// Largest request body the FLTR endpoints read, in bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest query string or form the parameter parser reads, in bytes.
const MAX_PARAMS_BYTES: usize = 16 * 1024;
/// Largest parameter value, in bytes.
const MAX_VALUE_BYTES: usize = 4096;

/// Checks that the server still serves a normal request.
async fn assert_still_serving(harness: &Harness, after: &str) {
    let reply = harness.http().get("/", &[]).await;
    assert_eq!(
        reply.status,
        200,
        "after {after}, the server still answers: {}",
        reply.describe()
    );
}

/// A token request body over 64 KiB gets 413, with or without a declared
/// length that gives it away.
pub async fn oversized_token_body_gets_413(harness: &Harness) {
    let prefix = "grant_type=authorization_code&code=";
    let body = format!("{prefix}{}", "a".repeat(MAX_BODY_BYTES + 1 - prefix.len()));
    assert_eq!(body.len(), MAX_BODY_BYTES + 1);
    let reply = harness.http().post_form("/oauth/token", &body, &[]).await;
    assert_eq!(
        reply.status,
        413,
        "a body of 64 KiB + 1 byte gets 413: {}",
        reply.describe()
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "the 413 carries Cache-Control: no-store, as token errors do: {}",
        reply.describe()
    );
    assert_eq!(
        reply.oauth_error().as_deref(),
        Some("invalid_request"),
        "the 413 is a JSON invalid_request: {}",
        reply.describe()
    );
    assert_still_serving(harness, "a 64 KiB + 1 byte body").await;

    let body = format!("{prefix}{}", "a".repeat(MAX_BODY_BYTES - prefix.len()));
    let reply = harness.http().post_form("/oauth/token", &body, &[]).await;
    assert_token_error(
        &reply,
        400,
        "invalid_request",
        "a body of exactly 64 KiB, over the 16 KiB form limit",
    );
    assert_still_serving(harness, "a 64 KiB body").await;
}

/// A query over 16 KiB at the authorization endpoint gets the error page.
pub async fn oversized_authorize_query_shows_error_page(harness: &Harness) {
    let query = authorization_query(
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        &random_state(),
        &Pkce::generate(),
    )
    .with("padding", &"x".repeat(MAX_PARAMS_BYTES));
    let reply = harness
        .http()
        .get(&format!("/oauth/authorize?{}", query.encode()), &[])
        .await;
    assert_error_page(&reply, "a query over 16 KiB");
    assert_still_serving(harness, "a query over 16 KiB").await;
}

/// A parameter value over 4096 bytes is `invalid_request`: a JSON error at the
/// token endpoint and the error page at the authorization endpoint.
pub async fn overlong_parameter_value_is_invalid_request(harness: &Harness) {
    let long = "a".repeat(MAX_VALUE_BYTES + 1);
    let form = Form::new()
        .with("grant_type", "authorization_code")
        .with("code", &long)
        .with("code_verifier", &Pkce::generate().verifier)
        .with("client_id", WEB_APP.client_id)
        .with("client_secret", WEB_APP.secret.expect("confidential"));
    let reply = harness
        .http()
        .post_form("/oauth/token", &form.encode(), &[])
        .await;
    assert_token_error(&reply, 400, "invalid_request", "a code of 4097 bytes");

    let query = authorization_query(
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        &long,
        &Pkce::generate(),
    );
    let reply = harness
        .http()
        .get(&format!("/oauth/authorize?{}", query.encode()), &[])
        .await;
    assert_error_page(&reply, "a state of 4097 bytes");
    assert!(
        reply.text().contains("invalid_request"),
        "a state of 4097 bytes: the page names invalid_request"
    );
}

/// One MiB of random bytes as a form body gets 400 or 413 at both form
/// endpoints, and the server keeps serving.
pub async fn random_megabyte_body_is_rejected(harness: &Harness) {
    let mut body = vec![0u8; 1024 * 1024];
    OsRng.fill_bytes(&mut body);
    for path in ["/oauth/token", "/oauth/authorize"] {
        let reply = harness
            .http()
            .send(
                reqwest::Method::POST,
                path,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some(body.clone()),
            )
            .await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 413),
            "1 MiB of random bytes to {path} gets 400 or 413: {}",
            reply.describe()
        );
        assert_still_serving(harness, &format!("1 MiB of random bytes to {path}")).await;
    }
}

#[track_caller]
fn assert_error_page(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 400, "{what}: 400: {}", reply.describe());
    assert!(
        reply.headers.get("location").is_none(),
        "{what}: the error is not redirected"
    );
}
