//! The flow of an MCP client: dynamic registration, PKCE with a resource
//! indicator, tokens bound to the `/mcp` endpoint, refresh and revocation.

use crate::browser::Decision;
use crate::cases::flow::assert_product_docs;
use crate::challenge::bearer_challenge;
use crate::client_requests::{assert_revoked, revoke};
use crate::fixture::ALICE;
use crate::oauth::{Tokens, assert_token_error, datasets};
use crate::registration::register_public_client;
use crate::resource::{
    API_PATH, AuthorizationRequest, MCP_PATH, assert_mcp_ok, call_mcp, exchange_with_resource,
    refresh_with_resource, resource_uri,
};
use crate::{Harness, Reply};

/// The scope the MCP client requests. It contains what both resources need, so
/// a rejection below can only come from the token's audience.
const SCOPE: &str = "datasets:read mcp:query";

/// Asserts a 401 `invalid_token` from a protected resource.
#[track_caller]
fn assert_invalid_token(reply: &Reply, what: &str) {
    let challenge = bearer_challenge(reply, 401, what);
    assert_eq!(
        challenge.param("error"),
        Some("invalid_token"),
        "{what}: the challenge has error=\"invalid_token\""
    );
}

/// An MCP client registers itself as a public client, sends
/// `resource=<issuer>/mcp` on the authorization and token requests, signs the
/// user in through the consent page and redeems the code without a secret.
/// Its access token works at `POST /mcp` and is rejected at `/v1/datasets`,
/// while a token obtained without `resource` works only at `/v1`
/// (RFC 8707 §2). A refresh keeps the audience and rejects another resource
/// with `invalid_target`. Revoking the refresh token with `client_id` alone
/// ends the grant: its access token gets 401 and the refresh token
/// `invalid_grant` (RFC 7009 §2.1).
pub async fn mcp_client_flow_with_resource(harness: &Harness) {
    let http = harness.http();
    let client = register_public_client(http, "Example MCP client").await;
    let auth = client.auth();
    let mcp = resource_uri(harness, MCP_PATH);
    let api = resource_uri(harness, API_PATH);
    let redirect_uri = "http://127.0.0.1:49152/cb";

    let request =
        AuthorizationRequest::new(&client.client_id, redirect_uri, SCOPE).with_resource(&mcp);
    let mut browser = harness.browser();
    let (page, form) = browser.open_consent(&request.query).await;
    let html = page.text();
    assert!(
        html.contains("unverified"),
        "the consent page marks the dynamically registered client as unverified"
    );
    assert!(
        html.contains("127.0.0.1"),
        "the consent page shows the redirect URI's host"
    );
    assert!(
        form.has_sign_in,
        "the consent page shows the sign-in inputs to a new browser"
    );
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    let authorized = request.authorized(harness, &reply);

    let reply = exchange_with_resource(http, auth, &authorized, Some(&mcp)).await;
    let tokens = Tokens::from_reply(&reply);
    assert_eq!(tokens.scope, SCOPE, "the token has the requested scope");

    assert_mcp_ok(
        &call_mcp(http, Some(&tokens.access_token)).await,
        "a token for /mcp at POST /mcp",
    );
    assert_invalid_token(
        &datasets(http, &tokens.access_token).await,
        "a token for /mcp at /v1/datasets",
    );

    let default_request = AuthorizationRequest::new(&client.client_id, redirect_uri, SCOPE);
    let default_authorized = default_request.approve(harness, &mut browser, ALICE).await;
    let reply = exchange_with_resource(http, auth, &default_authorized, None).await;
    let default_tokens = Tokens::from_reply(&reply);
    assert_product_docs(&datasets(http, &default_tokens.access_token).await);
    assert_invalid_token(
        &call_mcp(http, Some(&default_tokens.access_token)).await,
        "a token obtained without resource at POST /mcp",
    );

    let reply = refresh_with_resource(http, auth, &tokens.refresh_token, Some(&mcp)).await;
    let refreshed = Tokens::from_reply(&reply);
    assert_mcp_ok(
        &call_mcp(http, Some(&refreshed.access_token)).await,
        "a token refreshed with resource=/mcp at POST /mcp",
    );
    assert_invalid_token(
        &datasets(http, &refreshed.access_token).await,
        "a token refreshed with resource=/mcp at /v1/datasets",
    );

    let reply = refresh_with_resource(http, auth, &refreshed.refresh_token, Some(&api)).await;
    assert_token_error(
        &reply,
        400,
        "invalid_target",
        "a refresh of the /mcp grant asking for /v1",
    );

    let reply = refresh_with_resource(http, auth, &refreshed.refresh_token, None).await;
    let latest = Tokens::from_reply(&reply);
    assert_mcp_ok(
        &call_mcp(http, Some(&latest.access_token)).await,
        "a token refreshed without resource keeps the grant's /mcp audience",
    );
    assert_invalid_token(
        &datasets(http, &latest.access_token).await,
        "a token refreshed without resource at /v1/datasets",
    );

    let reply = revoke(http, auth, &latest.refresh_token, Some("refresh_token")).await;
    assert_revoked(&reply, "the public client revoking its refresh token");
    assert_invalid_token(
        &call_mcp(http, Some(&latest.access_token)).await,
        "the access token after its refresh token was revoked",
    );
    let reply = refresh_with_resource(http, auth, &latest.refresh_token, Some(&mcp)).await;
    assert_token_error(&reply, 400, "invalid_grant", "the revoked refresh token");

    assert_product_docs(&datasets(http, &default_tokens.access_token).await);
}
