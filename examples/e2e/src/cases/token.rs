//! The token endpoint's errors, code replay and refresh token rotation.

use crate::cases::flow::assert_product_docs;
use crate::fixture::{ALICE, GUIDE_SCOPE, REPORTING_APP, WEB_APP};
use crate::http::Form;
use crate::oauth::{
    ClientAuth, Tokens, assert_token_error, authorize, datasets, exchange, exchange_form,
    obtain_tokens, refresh, token_request,
};
use crate::{Harness, Reply};

/// Lifetime of an authorization code in the FLTR profile, in seconds.
const CODE_LIFETIME: u64 = 60;

/// Asserts that an access token no longer works at `/v1/datasets`.
#[track_caller]
fn assert_invalid_token(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 401, "{what}: 401: {}", reply.describe());
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "{what}: the challenge says error=\"invalid_token\": {challenge:?}"
    );
}

/// A `code_verifier` that does not hash to the challenge is `invalid_grant`
/// (RFC 7636 §4.6), and the code still works with the right verifier.
pub async fn wrong_code_verifier_is_invalid_grant(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let mut wrong = authorized.clone();
    wrong.pkce.verifier = crate::pkce::Pkce::generate().verifier;
    let reply = exchange(http, ClientAuth::of(&WEB_APP), &wrong).await;
    assert_token_error(&reply, 400, "invalid_grant", "a wrong code_verifier");

    let reply = exchange(http, ClientAuth::of(&WEB_APP), &authorized).await;
    Tokens::from_reply(&reply);
}

/// A code redeemed twice fails the second time, and the tokens of the first
/// redemption stop working (OAuth 2.1 §4.1.3, RFC 9700 §4.5).
pub async fn code_replay_revokes_first_tokens(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let first = Tokens::from_reply(&exchange(http, ClientAuth::of(&WEB_APP), &authorized).await);
    assert_product_docs(&datasets(http, &first.access_token).await);

    let reply = exchange(http, ClientAuth::of(&WEB_APP), &authorized).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "the second redemption of a code",
    );

    assert_invalid_token(
        &datasets(http, &first.access_token).await,
        "the first access token after the code replay",
    );
    let reply = refresh(http, ClientAuth::of(&WEB_APP), &first.refresh_token, None).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "the first refresh token after the code replay",
    );
}

/// A replay that fails client authentication or PKCE is rejected but revokes
/// nothing, so a thief holding only the code cannot cut off the client
/// (OAuth 2.1 §7.5.2).
pub async fn failed_code_replay_revokes_nothing(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let first = Tokens::from_reply(&exchange(http, ClientAuth::of(&WEB_APP), &authorized).await);

    let wrong_secret = ClientAuth::Post {
        client_id: WEB_APP.client_id,
        secret: "not-the-secret-of-the-web-app-at-all",
    };
    let reply = exchange(http, wrong_secret, &authorized).await;
    assert_token_error(
        &reply,
        401,
        "invalid_client",
        "a replay with a wrong secret",
    );

    let mut wrong_verifier = authorized.clone();
    wrong_verifier.pkce.verifier = crate::pkce::Pkce::generate().verifier;
    let reply = exchange(http, ClientAuth::of(&WEB_APP), &wrong_verifier).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "a replay with a wrong verifier",
    );

    let reply = exchange(http, ClientAuth::of(&REPORTING_APP), &authorized).await;
    assert_token_error(&reply, 400, "invalid_grant", "a replay by another client");

    assert_product_docs(&datasets(http, &first.access_token).await);
    let reply = refresh(http, ClientAuth::of(&WEB_APP), &first.refresh_token, None).await;
    let refreshed = Tokens::from_reply(&reply);
    assert_eq!(
        refreshed.scope, GUIDE_SCOPE,
        "the first refresh token still works"
    );
}

/// A code redeemed after its 60 second lifetime is `invalid_grant`.
pub async fn expired_code_is_invalid_grant(harness: &Harness) {
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    harness.advance_clock(CODE_LIFETIME + 1);
    let reply = exchange(harness.http(), ClientAuth::of(&WEB_APP), &authorized).await;
    assert_token_error(&reply, 400, "invalid_grant", "a code 61 s after issue");
}

/// A code presented by another confidential client, with that client's valid
/// secret, is `invalid_grant` (OAuth 2.1 §4.1.3).
pub async fn code_of_other_client_is_invalid_grant(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let reply = exchange(http, ClientAuth::of(&REPORTING_APP), &authorized).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "a code presented by another client",
    );

    let reply = exchange(http, ClientAuth::of(&WEB_APP), &authorized).await;
    Tokens::from_reply(&reply);
}

/// A `redirect_uri` in the token request that differs from the authorization
/// request's is `invalid_grant` (RFC 6749 §4.1.3).
pub async fn other_redirect_uri_is_invalid_grant(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    for other in [
        "http://localhost:5000/callback/",
        "http://localhost:5001/callback",
        REPORTING_APP.redirect_uri,
    ] {
        let mut changed = authorized.clone();
        changed.redirect_uri = other.to_owned();
        let reply = exchange(http, ClientAuth::of(&WEB_APP), &changed).await;
        assert_token_error(
            &reply,
            400,
            "invalid_grant",
            &format!("redirect_uri {other}"),
        );
    }
}

/// A wrong client secret in the form body is 401 `invalid_client`.
pub async fn wrong_secret_in_body_is_invalid_client(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    for (what, auth) in [
        (
            "a wrong secret",
            ClientAuth::Post {
                client_id: WEB_APP.client_id,
                secret: "s3cret-with-more-than-32-characters!?",
            },
        ),
        (
            "another client's secret",
            ClientAuth::Post {
                client_id: WEB_APP.client_id,
                secret: REPORTING_APP.secret.expect("confidential"),
            },
        ),
        (
            "no secret for a confidential client",
            ClientAuth::Public {
                client_id: WEB_APP.client_id,
            },
        ),
        (
            "an unknown client_id",
            ClientAuth::Post {
                client_id: "no-such-client",
                secret: "s3cret-with-more-than-32-characters!!",
            },
        ),
    ] {
        let reply = exchange(http, auth, &authorized).await;
        assert_token_error(&reply, 401, "invalid_client", what);
    }
}

/// A wrong secret sent with `Authorization: Basic` is 401 `invalid_client`
/// with a `Basic` challenge (RFC 6749 §5.2).
pub async fn wrong_basic_secret_gets_basic_challenge(harness: &Harness) {
    let http = harness.http();
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let auth = ClientAuth::Basic {
        client_id: WEB_APP.client_id,
        secret: "not-the-secret-of-the-web-app-at-all",
    };
    let reply = exchange(http, auth, &authorized).await;
    assert_token_error(&reply, 401, "invalid_client", "a wrong secret via Basic");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Basic "),
        "the 401 carries a Basic challenge: {challenge:?}"
    );
    assert!(
        challenge.contains("realm="),
        "the Basic challenge names a realm: {challenge:?}"
    );
}

/// `Authorization: Basic` together with a `client_secret` in the body is two
/// authentication methods, which is `invalid_request` (OAuth 2.1 §2.4).
pub async fn basic_and_body_secret_is_invalid_request(harness: &Harness) {
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let form = exchange_form(
        &authorized.code,
        &authorized.redirect_uri,
        &authorized.pkce.verifier,
    )
    .with("client_id", WEB_APP.client_id)
    .with("client_secret", WEB_APP.secret.expect("confidential"));
    let reply = token_request(harness.http(), ClientAuth::basic(&WEB_APP), form).await;
    assert_token_error(
        &reply,
        400,
        "invalid_request",
        "Basic plus client_secret in the body",
    );
}

/// An unknown `grant_type` and the password grant are `unsupported_grant_type`
/// (OAuth 2.1 §3.2.4).
pub async fn unsupported_grant_types_are_rejected(harness: &Harness) {
    for (what, form) in [
        (
            "an unknown grant_type",
            Form::new().with("grant_type", "urn:example:bogus"),
        ),
        (
            "the password grant",
            Form::new()
                .with("grant_type", "password")
                .with("username", ALICE.username)
                .with("password", ALICE.password),
        ),
        (
            "the implicit grant",
            Form::new().with("grant_type", "implicit"),
        ),
    ] {
        let reply = token_request(harness.http(), ClientAuth::of(&WEB_APP), form).await;
        assert_token_error(&reply, 400, "unsupported_grant_type", what);
        assert!(
            reply.json().get("access_token").is_none(),
            "{what}: no access token"
        );
    }
}

/// `GET /oauth/token` is 405 with `Allow: POST` and no token.
pub async fn token_endpoint_rejects_get(harness: &Harness) {
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let query = exchange_form(
        &authorized.code,
        &authorized.redirect_uri,
        &authorized.pkce.verifier,
    )
    .with("client_id", WEB_APP.client_id)
    .with("client_secret", WEB_APP.secret.expect("confidential"));
    let reply = harness
        .http()
        .get(&format!("/oauth/token?{}", query.encode()), &[])
        .await;
    assert_eq!(
        reply.status,
        405,
        "GET /oauth/token is 405: {}",
        reply.describe()
    );
    assert_eq!(reply.header("allow"), Some("POST"), "the 405 allows POST");
    assert!(
        !reply.text().contains("access_token"),
        "GET issues no token"
    );

    let reply = exchange(harness.http(), ClientAuth::of(&WEB_APP), &authorized).await;
    Tokens::from_reply(&reply);
}

/// A repeated token request parameter is `invalid_request` (OAuth 2.1 §3.2),
/// even when both values are the same.
pub async fn repeated_token_parameter_is_invalid_request(harness: &Harness) {
    let authorized = authorize(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let form = exchange_form(
        &authorized.code,
        &authorized.redirect_uri,
        &authorized.pkce.verifier,
    );
    for name in ["code", "code_verifier", "grant_type", "redirect_uri"] {
        let value = form.get(name).expect("the exchange form has the parameter");
        let repeated = form.clone().with(name, value);
        let reply = token_request(harness.http(), ClientAuth::of(&WEB_APP), repeated).await;
        assert_token_error(&reply, 400, "invalid_request", &format!("repeated {name}"));
    }
    let repeated_id = form.clone().with("client_id", WEB_APP.client_id);
    let reply = token_request(harness.http(), ClientAuth::of(&WEB_APP), repeated_id).await;
    assert_token_error(&reply, 400, "invalid_request", "repeated client_id");

    let reply = exchange(harness.http(), ClientAuth::of(&WEB_APP), &authorized).await;
    Tokens::from_reply(&reply);
}

/// Presenting a rotated refresh token again revokes the whole grant: the
/// newest refresh token and every access token stop working (OAuth 2.1
/// §4.3.1, RFC 9700 §4.14.2).
pub async fn refresh_token_replay_revokes_grant(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let first = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let second = Tokens::from_reply(&refresh(http, auth, &first.refresh_token, None).await);
    let third = Tokens::from_reply(&refresh(http, auth, &second.refresh_token, None).await);
    assert_product_docs(&datasets(http, &third.access_token).await);

    let reply = refresh(http, auth, &first.refresh_token, None).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "a rotated refresh token presented again",
    );

    let reply = refresh(http, auth, &third.refresh_token, None).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "the newest refresh token after the replay",
    );
    for (what, tokens) in [("first", &first), ("second", &second), ("newest", &third)] {
        assert_invalid_token(
            &datasets(http, &tokens.access_token).await,
            &format!("the {what} access token after the replay"),
        );
    }
}

/// A refresh asking for a scope the grant does not hold is `invalid_scope`
/// (OAuth 2.1 §4.3.1), and the refresh token still works afterwards.
pub async fn refresh_cannot_widen_scope(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let tokens = obtain_tokens(harness, &WEB_APP, "datasets:read mcp:query", ALICE).await;
    for wider in [
        "datasets:read datasets:delete",
        "datasets:write",
        "nonsense:x",
    ] {
        let reply = refresh(http, auth, &tokens.refresh_token, Some(wider)).await;
        assert_token_error(
            &reply,
            400,
            "invalid_scope",
            &format!("a refresh asking for {wider}"),
        );
    }
    let refreshed = Tokens::from_reply(&refresh(http, auth, &tokens.refresh_token, None).await);
    assert_eq!(
        refreshed.scope, "datasets:read mcp:query",
        "the refused requests did not change the grant"
    );
}

/// A refresh may ask for a narrower scope for the new access token. The grant
/// keeps the approved scope, so the next refresh without `scope` gets all of
/// it back (OAuth 2.1 §4.3.3).
pub async fn narrowed_refresh_keeps_grant_scope(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;

    let narrowed =
        Tokens::from_reply(&refresh(http, auth, &tokens.refresh_token, Some("mcp:query")).await);
    assert_eq!(
        narrowed.scope, "mcp:query",
        "the new access token has the narrower scope"
    );
    let reply = datasets(http, &narrowed.access_token).await;
    assert_eq!(
        reply.status,
        403,
        "the narrowed access token lacks datasets:read: {}",
        reply.describe()
    );

    let restored = Tokens::from_reply(&refresh(http, auth, &narrowed.refresh_token, None).await);
    assert_eq!(
        restored.scope, GUIDE_SCOPE,
        "a refresh without scope gets the grant's full scope"
    );
    assert_product_docs(&datasets(http, &restored.access_token).await);
}

/// An access token stops working once its hour is over (RFC 6750 §3.1).
pub async fn access_token_expires_after_an_hour(harness: &Harness) {
    let http = harness.http();
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    harness.advance_clock(3599);
    assert_product_docs(&datasets(http, &tokens.access_token).await);
    harness.advance_clock(1);
    assert_invalid_token(
        &datasets(http, &tokens.access_token).await,
        "the access token 3600 s after issue",
    );

    let refreshed = Tokens::from_reply(
        &refresh(http, ClientAuth::of(&WEB_APP), &tokens.refresh_token, None).await,
    );
    assert_product_docs(&datasets(http, &refreshed.access_token).await);
}
