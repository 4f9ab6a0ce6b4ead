//! Token introspection (RFC 7662).

use serde_json::Value;

use crate::client_requests::{
    INTROSPECTION_PATH, assert_inactive, assert_revoked, introspect, revoke,
};
use crate::fixture::{ALICE, DESKTOP_APP, GUIDE_SCOPE, REPORTING_APP, START_TIME, WEB_APP};
use crate::http::Form;
use crate::oauth::{ClientAuth, Tokens, assert_token_error, obtain_tokens, refresh};
use crate::resource::{
    API_PATH, AuthorizationRequest, MCP_PATH, exchange_with_resource, resource_uri,
};
use crate::{Harness, Reply};

/// Lifetime of an access token in the FLTR profile, in seconds.
const ACCESS_TOKEN_LIFETIME: u64 = 3600;

/// Returns the JSON body of a 200 introspection reply that reports `active: true`.
#[track_caller]
fn active_body(reply: &Reply, what: &str) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{what}: introspection returns 200: {}",
        reply.describe()
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{what}: the response carries Cache-Control: no-store"
    );
    let body = reply.json();
    assert_eq!(
        body.get("active"),
        Some(&Value::Bool(true)),
        "{what}: the token is active: {body}"
    );
    body
}

/// Introspection requires a confidential client's credentials, so tokens
/// cannot be probed anonymously (RFC 7662 §2.1, §4). No credentials, a public
/// client, a wrong secret in the body or with Basic all get 401
/// `invalid_client` and reveal nothing about the token.
pub async fn introspection_requires_client_auth(harness: &Harness) {
    let http = harness.http();
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;

    let form = Form::new().with("token", &tokens.access_token);
    let reply = http
        .post_form(INTROSPECTION_PATH, &form.encode(), &[])
        .await;
    assert_token_error(&reply, 401, "invalid_client", "no client credentials");
    assert!(
        reply.json().get("active").is_none(),
        "no client credentials: the reply reveals nothing about the token"
    );

    for (what, auth) in [
        ("a public client", ClientAuth::of(&DESKTOP_APP)),
        (
            "client_id of a confidential client without secret",
            ClientAuth::Public {
                client_id: WEB_APP.client_id,
            },
        ),
        (
            "a wrong secret in the body",
            ClientAuth::Post {
                client_id: WEB_APP.client_id,
                secret: "not-the-secret-of-the-web-app-at-all",
            },
        ),
        (
            "a wrong secret with Basic",
            ClientAuth::Basic {
                client_id: WEB_APP.client_id,
                secret: "not-the-secret-of-the-web-app-at-all",
            },
        ),
    ] {
        let reply = introspect(http, auth, &tokens.access_token, None).await;
        assert_token_error(&reply, 401, "invalid_client", what);
        assert!(
            reply.json().get("active").is_none(),
            "{what}: the reply reveals nothing about the token"
        );
    }

    let reply = http
        .get(&format!("{INTROSPECTION_PATH}?{}", form.encode()), &[])
        .await;
    assert_eq!(
        reply.status,
        405,
        "GET of the introspection endpoint is 405: {}",
        reply.describe()
    );
}

/// An active access token is described with `scope`, `client_id`,
/// `username`, `token_type`, `exp`, `iat`, `sub`, `aud` (its resource URI)
/// and `iss` (the issuer), and a wrong or unknown `token_type_hint` or Basic
/// authentication changes nothing (RFC 7662 §2.2). A token for `/mcp` has
/// that URI as `aud` (RFC 8707 §2), and the refresh token is active too.
pub async fn active_token_is_described(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;

    let reply = introspect(http, auth, &tokens.access_token, None).await;
    let body = active_body(&reply, "the web app's access token");
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the response has a string {name}: {body}"))
    };
    assert_eq!(text("scope"), GUIDE_SCOPE, "scope is the token's scope");
    assert_eq!(
        text("client_id"),
        WEB_APP.client_id,
        "client_id is the client the token was issued to"
    );
    assert_eq!(
        text("username"),
        ALICE.username,
        "username is the user who approved"
    );
    assert!(
        text("token_type").eq_ignore_ascii_case("bearer"),
        "token_type is Bearer: {body}"
    );
    assert_eq!(
        body.get("iat").and_then(Value::as_u64),
        Some(START_TIME),
        "iat is the issue time in Unix seconds: {body}"
    );
    assert_eq!(
        body.get("exp").and_then(Value::as_u64),
        Some(START_TIME + ACCESS_TOKEN_LIFETIME),
        "exp is one hour after issue: {body}"
    );
    assert!(!text("sub").is_empty(), "sub names the user: {body}");
    assert_eq!(
        text("aud"),
        resource_uri(harness, API_PATH),
        "aud is the /v1 API, the resource of a token requested without resource"
    );
    assert_eq!(text("iss"), harness.issuer(), "iss is the issuer");

    for (what, auth, hint) in [
        ("the hint refresh_token", auth, Some("refresh_token")),
        ("the hint access_token", auth, Some("access_token")),
        ("an unknown hint", auth, Some("id_token")),
        ("Basic authentication", ClientAuth::basic(&WEB_APP), None),
    ] {
        let reply = introspect(http, auth, &tokens.access_token, hint).await;
        assert_eq!(
            active_body(&reply, what),
            body,
            "{what}: the response is the same"
        );
    }

    let reply = introspect(http, auth, &tokens.refresh_token, Some("refresh_token")).await;
    let refresh_body = active_body(&reply, "the web app's refresh token");
    assert_eq!(
        refresh_body.get("client_id"),
        body.get("client_id"),
        "the refresh token has the same client_id: {refresh_body}"
    );
    assert_eq!(
        refresh_body.get("sub"),
        body.get("sub"),
        "the refresh token has the same sub: {refresh_body}"
    );

    let mcp = resource_uri(harness, MCP_PATH);
    let request = AuthorizationRequest::new(WEB_APP.client_id, WEB_APP.redirect_uri, GUIDE_SCOPE)
        .with_resource(&mcp);
    let authorized = request
        .approve(harness, &mut harness.browser(), ALICE)
        .await;
    let mcp_tokens =
        Tokens::from_reply(&exchange_with_resource(http, auth, &authorized, Some(&mcp)).await);
    let reply = introspect(http, auth, &mcp_tokens.access_token, None).await;
    let mcp_body = active_body(&reply, "an access token for /mcp");
    assert_eq!(
        mcp_body.get("aud").and_then(Value::as_str),
        Some(mcp.as_str()),
        "aud of a token requested with resource=/mcp is the /mcp URI: {mcp_body}"
    );
}

/// Garbage, revoked, rotated and expired tokens all get a body of exactly
/// `{"active":false}`, with no hint of why (RFC 7662 §2.2).
pub async fn inactive_tokens_reveal_nothing(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    for token in [
        "garbage",
        "fltr_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "fltr_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let reply = introspect(http, auth, token, None).await;
        assert_inactive(&reply, &format!("the unknown token {token}"));
    }

    let revoked = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    assert_revoked(
        &revoke(http, auth, &revoked.access_token, None).await,
        "revoking an access token",
    );
    let reply = introspect(http, auth, &revoked.access_token, None).await;
    assert_inactive(&reply, "a revoked access token");

    let rotated = Tokens::from_reply(&refresh(http, auth, &revoked.refresh_token, None).await);
    let reply = introspect(http, auth, &revoked.refresh_token, Some("refresh_token")).await;
    assert_inactive(&reply, "a rotated refresh token");

    assert_revoked(
        &revoke(http, auth, &rotated.refresh_token, Some("refresh_token")).await,
        "revoking a refresh token",
    );
    for (what, token) in [
        ("a revoked refresh token", &rotated.refresh_token),
        ("the access token of a revoked grant", &rotated.access_token),
    ] {
        let reply = introspect(http, auth, token, None).await;
        assert_inactive(&reply, what);
    }

    let expiring = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    harness.advance_clock(ACCESS_TOKEN_LIFETIME - 1);
    let reply = introspect(http, auth, &expiring.access_token, None).await;
    active_body(&reply, "an access token one second before expiry");
    harness.advance_clock(1);
    let reply = introspect(http, auth, &expiring.access_token, None).await;
    assert_inactive(&reply, "an access token at its expiry time");
}

/// A client learns nothing about another client's tokens: they introspect as
/// `{"active":false}`, while each client still sees its own as active.
pub async fn other_clients_token_is_inactive(harness: &Harness) {
    let http = harness.http();
    let web = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let reporting = obtain_tokens(harness, &REPORTING_APP, "datasets:read", ALICE).await;
    for (what, auth, token) in [
        (
            "the web app's access token introspected by the reporting app",
            ClientAuth::of(&REPORTING_APP),
            &web.access_token,
        ),
        (
            "the web app's refresh token introspected by the reporting app",
            ClientAuth::of(&REPORTING_APP),
            &web.refresh_token,
        ),
        (
            "the reporting app's access token introspected by the web app",
            ClientAuth::of(&WEB_APP),
            &reporting.access_token,
        ),
    ] {
        let reply = introspect(http, auth, token, None).await;
        assert_inactive(&reply, what);
    }
    for (what, auth, token) in [
        (
            "the web app's own access token",
            ClientAuth::of(&WEB_APP),
            &web.access_token,
        ),
        (
            "the reporting app's own access token",
            ClientAuth::of(&REPORTING_APP),
            &reporting.access_token,
        ),
    ] {
        let reply = introspect(http, auth, token, None).await;
        active_body(&reply, what);
    }
}
