//! The FLTR guide's flow from the authorization request to a refreshed token.

use crate::fixture::{ALICE, GUIDE_SCOPE, START_TIME, WEB_APP};
use crate::oauth::{
    ClientAuth, Tokens, assert_token_error, authorize, datasets, exchange, refresh,
};
use crate::{Harness, Reply};

/// The FLTR guide's flow: PKCE, the authorization request, sign-in and
/// approval, the code exchange with `client_secret_post`, a call to
/// `/v1/datasets`, and a refresh that rotates the refresh token.
pub async fn guide_flow_with_client_secret_post(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    assert!(
        authorized.code.starts_with("fltr_ac_"),
        "the code has the FLTR code prefix"
    );

    let reply = exchange(http, ClientAuth::of(&WEB_APP), &authorized).await;
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "the token response carries Cache-Control: no-store (OAuth 2.1 §3.2.3)"
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "the token response is JSON: {}",
        reply.describe()
    );
    let tokens = Tokens::from_reply(&reply);
    assert_guide_tokens(&tokens);

    let reply = datasets(http, &tokens.access_token).await;
    assert_product_docs(&reply);
    assert_eq!(
        reply.header("x-ratelimit-limit"),
        Some("15000"),
        "X-RateLimit-Limit is FLTR's 15,000 requests per hour"
    );
    let remaining: u64 = reply
        .header("x-ratelimit-remaining")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("X-RateLimit-Remaining is a number: {:?}", reply.headers));
    assert_eq!(remaining, 14_999, "one request of the hour is used");
    let reset: u64 = reply
        .header("x-ratelimit-reset")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("X-RateLimit-Reset is a number: {:?}", reply.headers));
    assert!(
        (START_TIME + 1..=START_TIME + 3600).contains(&reset),
        "X-RateLimit-Reset is the end of the current hour in Unix seconds, got {reset}"
    );

    let reply = refresh(http, ClientAuth::of(&WEB_APP), &tokens.refresh_token, None).await;
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "the refresh response carries Cache-Control: no-store"
    );
    let refreshed = Tokens::from_reply(&reply);
    assert_guide_tokens(&refreshed);
    assert_ne!(
        refreshed.refresh_token, tokens.refresh_token,
        "the refresh token rotates (OAuth 2.1 §4.3.1)"
    );
    assert_ne!(
        refreshed.access_token, tokens.access_token,
        "the refresh issues a new access token"
    );
    assert_product_docs(&datasets(http, &refreshed.access_token).await);

    let reply = refresh(http, ClientAuth::of(&WEB_APP), &tokens.refresh_token, None).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "the rotated refresh token is refused",
    );
}

/// The same exchange as the guide's, with the client authenticating by
/// `Authorization: Basic` (`client_secret_basic`, RFC 6749 §2.3.1).
pub async fn code_exchange_with_client_secret_basic(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let reply = exchange(http, ClientAuth::basic(&WEB_APP), &authorized).await;
    let tokens = Tokens::from_reply(&reply);
    assert_guide_tokens(&tokens);
    assert_product_docs(&datasets(http, &tokens.access_token).await);

    let reply = refresh(
        http,
        ClientAuth::basic(&WEB_APP),
        &tokens.refresh_token,
        None,
    )
    .await;
    let refreshed = Tokens::from_reply(&reply);
    assert_eq!(
        refreshed.scope, GUIDE_SCOPE,
        "a refresh with Basic authentication keeps the scope"
    );
}

/// Checks the token response fields the FLTR guide documents.
fn assert_guide_tokens(tokens: &Tokens) {
    assert!(
        tokens.access_token.starts_with("fltr_at_"),
        "the access token starts with fltr_at_"
    );
    assert!(
        tokens.refresh_token.starts_with("fltr_rt_"),
        "the refresh token starts with fltr_rt_"
    );
    assert_eq!(tokens.token_type, "Bearer", "token_type is Bearer");
    assert_eq!(tokens.expires_in, 3600, "access tokens last one hour");
    assert_eq!(tokens.scope, GUIDE_SCOPE, "scope is the requested scope");
}

/// Checks a `GET /v1/datasets` reply for the demo dataset and its fields.
pub(crate) fn assert_product_docs(reply: &Reply) {
    assert_eq!(
        reply.status,
        200,
        "GET /v1/datasets with a valid token succeeds: {}",
        reply.describe()
    );
    let body = reply.json();
    let datasets = body
        .get("datasets")
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("the reply has a datasets array: {body}"));
    let product_docs = datasets
        .iter()
        .find(|dataset| dataset.get("name") == Some(&"Product Docs".into()))
        .unwrap_or_else(|| panic!("a dataset is named Product Docs: {body}"));
    for field in ["id", "name", "description", "created_at"] {
        assert!(
            product_docs
                .get(field)
                .is_some_and(serde_json::Value::is_string),
            "the dataset has a string {field}: {product_docs}"
        );
    }
    assert!(
        product_docs
            .get("document_count")
            .is_some_and(serde_json::Value::is_u64),
        "the dataset has a numeric document_count: {product_docs}"
    );
}
