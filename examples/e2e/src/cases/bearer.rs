//! Bearer token checks at `/v1/datasets` (RFC 6750 §2.1, §3).

use crate::cases::flow::assert_product_docs;
use crate::fixture::{ALICE, GUIDE_SCOPE, WEB_APP};
use crate::oauth::{datasets, obtain_tokens};
use crate::{Harness, Reply};

/// Returns the `WWW-Authenticate` value of a rejected bearer request.
#[track_caller]
fn challenge(reply: &Reply, status: u16, what: &str) -> String {
    assert_eq!(
        reply.status,
        status,
        "{what}: status {status}: {}",
        reply.describe()
    );
    let challenge = reply
        .header("www-authenticate")
        .unwrap_or_else(|| {
            panic!(
                "{what}: the reply has a WWW-Authenticate challenge: {:?}",
                reply.headers
            )
        })
        .to_owned();
    assert!(
        challenge.starts_with("Bearer "),
        "{what}: the challenge uses the Bearer scheme: {challenge:?}"
    );
    challenge
}

/// The `resource_metadata` parameter the `/v1` API's challenges carry (RFC 9728 §5.1).
fn resource_metadata(harness: &Harness) -> String {
    format!(
        "resource_metadata=\"{}/.well-known/oauth-protected-resource/v1\"",
        harness.issuer()
    )
}

/// A request without credentials gets 401 and a `Bearer` challenge with
/// `resource_metadata` and no error code (RFC 6750 §3.1).
pub async fn missing_bearer_gets_bare_challenge(harness: &Harness) {
    let reply = harness.http().get("/v1/datasets", &[]).await;
    let challenge = challenge(&reply, 401, "no Authorization header");
    assert!(
        challenge.contains(&resource_metadata(harness)),
        "the challenge points at the resource metadata: {challenge:?}"
    );
    assert!(
        !challenge.contains("error="),
        "a request without credentials gets no error code: {challenge:?}"
    );
    assert_eq!(
        reply.oauth_error(),
        None,
        "the body names no error code either: {}",
        reply.describe()
    );
    assert!(
        reply.json()["error_description"].is_string(),
        "the body says what is missing: {}",
        reply.describe()
    );
}

/// An unknown token gets 401 `invalid_token`.
pub async fn unknown_bearer_is_invalid_token(harness: &Harness) {
    for token in [
        "garbage",
        "fltr_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let reply = datasets(harness.http(), token).await;
        let challenge = challenge(&reply, 401, &format!("Bearer {token}"));
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "Bearer {token}: the challenge says invalid_token: {challenge:?}"
        );
        assert!(
            challenge.contains(&resource_metadata(harness)),
            "Bearer {token}: the challenge points at the resource metadata: {challenge:?}"
        );
    }
}

/// A valid token without `datasets:read` gets 403 `insufficient_scope` naming
/// the scope the request needs (RFC 6750 §3.1).
pub async fn bearer_without_scope_is_forbidden(harness: &Harness) {
    let tokens = obtain_tokens(harness, &WEB_APP, "mcp:query", ALICE).await;
    assert_eq!(tokens.scope, "mcp:query", "the token holds mcp:query only");
    let reply = datasets(harness.http(), &tokens.access_token).await;
    let challenge = challenge(&reply, 403, "a token with mcp:query only");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "the challenge says insufficient_scope: {challenge:?}"
    );
    assert!(
        challenge.contains("scope=\"datasets:read\""),
        "the challenge names the scope datasets:read: {challenge:?}"
    );
}

/// The `Bearer` scheme name is case-insensitive (RFC 7235 §2.1).
pub async fn bearer_scheme_is_case_insensitive(harness: &Harness) {
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let authorization = format!("bEaReR {}", tokens.access_token);
    let reply = harness
        .http()
        .get("/v1/datasets", &[("authorization", &authorization)])
        .await;
    assert_product_docs(&reply);
}

/// A token in the query string is ignored (OAuth 2.1 §5.1), so the request
/// counts as one without credentials.
pub async fn query_access_token_is_ignored(harness: &Harness) {
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let reply = harness
        .http()
        .get(
            &format!("/v1/datasets?access_token={}", tokens.access_token),
            &[],
        )
        .await;
    let challenge = challenge(&reply, 401, "a token in the query string");
    assert!(
        !challenge.contains("error="),
        "the query token is not even read: {challenge:?}"
    );
    assert_product_docs(&datasets(harness.http(), &tokens.access_token).await);
}
