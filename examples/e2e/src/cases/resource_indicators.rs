//! Resource indicators (RFC 8707) at the authorization and token endpoints.

use serde_json::Value;

use crate::Harness;
use crate::client_requests::introspect;
use crate::fixture::{ALICE, GUIDE_SCOPE, WEB_APP};
use crate::oauth::{ClientAuth, Tokens, assert_token_error};
use crate::resource::{
    API_PATH, AuthorizationRequest, MCP_PATH, assert_error_redirect, assert_mcp_ok, call_mcp,
    exchange_with_resource, refresh_with_resource, resource_uri,
};

/// A `resource` that is repeated, relative, has a fragment or names a
/// resource this server does not serve is `invalid_target`, sent to the
/// verified redirect URI with `state` and `iss` (RFC 8707 §2, RFC 9207 §2).
pub async fn invalid_resource_is_invalid_target(harness: &Harness) {
    let mcp = resource_uri(harness, MCP_PATH);
    let api = resource_uri(harness, API_PATH);
    let host = harness
        .issuer()
        .strip_prefix("http://")
        .expect("the harness issuer is http");
    let cases: [(&str, Vec<String>); 7] = [
        ("two resources", vec![api.clone(), mcp.clone()]),
        ("the same resource twice", vec![mcp.clone(), mcp.clone()]),
        ("a relative path", vec![MCP_PATH.to_owned()]),
        ("a URI without scheme", vec![format!("{host}{MCP_PATH}")]),
        ("a fragment", vec![format!("{mcp}#x")]),
        (
            "an unknown resource",
            vec!["https://other.example/mcp".to_owned()],
        ),
        (
            "another path on this server",
            vec![resource_uri(harness, "/v2")],
        ),
    ];
    for (what, resources) in cases {
        let mut request =
            AuthorizationRequest::new(WEB_APP.client_id, WEB_APP.redirect_uri, GUIDE_SCOPE);
        for resource in &resources {
            request = request.with_resource(resource);
        }
        let reply = harness.http().get(&request.path(), &[]).await;
        assert_error_redirect(
            harness,
            &reply,
            WEB_APP.redirect_uri,
            "invalid_target",
            &request.state,
            &format!("resource: {what} {resources:?}"),
        );
    }
}

/// The token endpoint rejects a `resource` other than the one the code was
/// issued for with 400 `invalid_target`, and the code still redeems with the
/// right one (RFC 8707 §2). A code issued without `resource` is bound to the
/// `/v1` API and cannot be redeemed for `/mcp`.
pub async fn token_resource_must_match_grant(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let mcp = resource_uri(harness, MCP_PATH);
    let api = resource_uri(harness, API_PATH);

    let request = AuthorizationRequest::new(WEB_APP.client_id, WEB_APP.redirect_uri, GUIDE_SCOPE)
        .with_resource(&mcp);
    let authorized = request
        .approve(harness, &mut harness.browser(), ALICE)
        .await;
    for (what, resource) in [
        ("the /v1 API", api.as_str()),
        ("an unknown resource", "https://other.example/mcp"),
        ("a relative path", MCP_PATH),
    ] {
        let reply = exchange_with_resource(http, auth, &authorized, Some(resource)).await;
        assert_token_error(
            &reply,
            400,
            "invalid_target",
            &format!("a code for /mcp redeemed for {what}"),
        );
    }
    let reply = exchange_with_resource(http, auth, &authorized, Some(&mcp)).await;
    let tokens = Tokens::from_reply(&reply);
    assert_mcp_ok(
        &call_mcp(http, Some(&tokens.access_token)).await,
        "the code for /mcp redeemed with resource=/mcp after the rejected attempts",
    );

    let request = AuthorizationRequest::new(WEB_APP.client_id, WEB_APP.redirect_uri, GUIDE_SCOPE);
    let authorized = request
        .approve(harness, &mut harness.browser(), ALICE)
        .await;
    let reply = exchange_with_resource(http, auth, &authorized, Some(&mcp)).await;
    assert_token_error(
        &reply,
        400,
        "invalid_target",
        "a code issued without resource redeemed for /mcp",
    );
    let reply = exchange_with_resource(http, auth, &authorized, Some(&api)).await;
    Tokens::from_reply(&reply);
}

/// A non-canonical form of the `/mcp` URI, with an upper-case scheme and a
/// trailing slash, is accepted at both endpoints and maps to the canonical
/// URI, which introspection reports as `aud`. The harness issuer's host is an
/// IP address, so case in the host is not covered here.
pub async fn non_canonical_resource_is_accepted(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let mcp = resource_uri(harness, MCP_PATH);
    let host = harness
        .issuer()
        .strip_prefix("http://")
        .expect("the harness issuer is http");
    let non_canonical = format!("HTTP://{host}{MCP_PATH}/");

    let request = AuthorizationRequest::new(WEB_APP.client_id, WEB_APP.redirect_uri, GUIDE_SCOPE)
        .with_resource(&non_canonical);
    let authorized = request
        .approve(harness, &mut harness.browser(), ALICE)
        .await;
    let reply = exchange_with_resource(http, auth, &authorized, Some(&non_canonical)).await;
    let tokens = Tokens::from_reply(&reply);
    assert_mcp_ok(
        &call_mcp(http, Some(&tokens.access_token)).await,
        "a token for the non-canonical /mcp URI at POST /mcp",
    );

    let reply = introspect(http, auth, &tokens.access_token, None).await;
    assert_eq!(
        reply.status,
        200,
        "introspection succeeds: {}",
        reply.describe()
    );
    let body = reply.json();
    assert_eq!(
        body.get("aud").and_then(Value::as_str),
        Some(mcp.as_str()),
        "aud is the canonical /mcp URI: {body}"
    );

    let reply = refresh_with_resource(http, auth, &tokens.refresh_token, Some(&mcp)).await;
    let refreshed = Tokens::from_reply(&reply);
    assert_mcp_ok(
        &call_mcp(http, Some(&refreshed.access_token)).await,
        "a refresh with the canonical URI of the same resource",
    );
}
