//! Token revocation (RFC 7009).

use crate::cases::flow::assert_product_docs;
use crate::challenge::bearer_challenge;
use crate::client_requests::{REVOCATION_PATH, assert_revoked, post_as_client, revoke};
use crate::fixture::{ALICE, DESKTOP_APP, GUIDE_SCOPE, REPORTING_APP, WEB_APP};
use crate::http::Form;
use crate::oauth::{ClientAuth, Tokens, assert_token_error, datasets, obtain_tokens, refresh};
use crate::{Harness, Reply};

/// Asserts that an access token gets 401 `invalid_token` at `/v1/datasets`.
#[track_caller]
fn assert_invalid_token(reply: &Reply, what: &str) {
    let challenge = bearer_challenge(reply, 401, what);
    assert_eq!(
        challenge.param("error"),
        Some("invalid_token"),
        "{what}: the challenge has error=\"invalid_token\""
    );
}

/// Revoking an access token stops it at once, while the grant's refresh
/// token keeps working (RFC 7009 §2.1). Revoking it again still returns 200.
pub async fn revoked_access_token_stops_working(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    assert_product_docs(&datasets(http, &tokens.access_token).await);

    let reply = revoke(http, auth, &tokens.access_token, Some("access_token")).await;
    assert_revoked(&reply, "revoking an access token");
    assert_invalid_token(
        &datasets(http, &tokens.access_token).await,
        "the revoked access token",
    );

    let reply = revoke(http, auth, &tokens.access_token, Some("access_token")).await;
    assert_revoked(&reply, "revoking the same access token again");

    let refreshed = Tokens::from_reply(&refresh(http, auth, &tokens.refresh_token, None).await);
    assert_product_docs(&datasets(http, &refreshed.access_token).await);
}

/// `token_type_hint` only orders the search (RFC 7009 §2.1). A refresh token
/// sent with the hint `access_token` is revoked, together with the access
/// tokens of its grant. An access token sent with the hint `refresh_token` or
/// an unknown hint is revoked too.
pub async fn wrong_token_type_hint_still_revokes(harness: &Harness) {
    let http = harness.http();
    let auth = ClientAuth::of(&WEB_APP);

    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let reply = revoke(
        http,
        ClientAuth::basic(&WEB_APP),
        &tokens.refresh_token,
        Some("access_token"),
    )
    .await;
    assert_revoked(&reply, "a refresh token with the hint access_token");
    let reply = refresh(http, auth, &tokens.refresh_token, None).await;
    assert_token_error(
        &reply,
        400,
        "invalid_grant",
        "the refresh token revoked with the hint access_token",
    );
    assert_invalid_token(
        &datasets(http, &tokens.access_token).await,
        "the access token of a grant whose refresh token was revoked",
    );

    for hint in ["refresh_token", "id_token"] {
        let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
        let reply = revoke(http, auth, &tokens.access_token, Some(hint)).await;
        assert_revoked(&reply, &format!("an access token with the hint {hint}"));
        assert_invalid_token(
            &datasets(http, &tokens.access_token).await,
            &format!("the access token revoked with the hint {hint}"),
        );
        let reply = refresh(http, auth, &tokens.refresh_token, None).await;
        Tokens::from_reply(&reply);
    }
}

/// An unknown or malformed token gets 200, from confidential and public
/// clients alike, because the client's goal is reached (RFC 7009 §2.2). A
/// request without `token` is `invalid_request`.
pub async fn unknown_token_revocation_succeeds(harness: &Harness) {
    let http = harness.http();
    for (who, auth) in [
        ("a confidential client", ClientAuth::of(&WEB_APP)),
        ("a public client", ClientAuth::of(&DESKTOP_APP)),
    ] {
        for token in [
            "garbage",
            "fltr_at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "fltr_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let reply = revoke(http, auth, token, None).await;
            assert_revoked(&reply, &format!("{who} revoking the unknown token {token}"));
        }
    }

    let reply = post_as_client(
        http,
        REVOCATION_PATH,
        ClientAuth::of(&WEB_APP),
        Form::new().with("token_type_hint", "access_token"),
    )
    .await;
    assert_token_error(&reply, 400, "invalid_request", "a revocation without token");
}

/// A confidential client must authenticate to revoke: no secret, a wrong
/// secret or no credentials at all get 401 `invalid_client`, and the token
/// keeps working (RFC 7009 §2.1).
pub async fn confidential_revocation_needs_secret(harness: &Harness) {
    let http = harness.http();
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    for (what, auth) in [
        (
            "client_id without secret",
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
        for token in [&tokens.access_token, &tokens.refresh_token] {
            let reply = revoke(http, auth, token, None).await;
            assert_token_error(&reply, 401, "invalid_client", what);
        }
    }
    let reply = http
        .post_form(
            REVOCATION_PATH,
            &Form::new().with("token", &tokens.refresh_token).encode(),
            &[],
        )
        .await;
    assert_token_error(&reply, 401, "invalid_client", "no client credentials");

    assert_product_docs(&datasets(http, &tokens.access_token).await);
    let reply = refresh(http, ClientAuth::of(&WEB_APP), &tokens.refresh_token, None).await;
    Tokens::from_reply(&reply);
}

/// A client cannot revoke another client's tokens. The server responds as for
/// an unknown token, so the response reveals nothing, and both tokens keep
/// working afterwards (RFC 7009 §2.1).
pub async fn other_client_cannot_revoke(harness: &Harness) {
    let http = harness.http();
    let tokens = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    for (who, auth) in [
        (
            "another confidential client",
            ClientAuth::of(&REPORTING_APP),
        ),
        ("a public client", ClientAuth::of(&DESKTOP_APP)),
    ] {
        for (kind, token, hint) in [
            ("access token", &tokens.access_token, "access_token"),
            ("refresh token", &tokens.refresh_token, "refresh_token"),
        ] {
            let reply = revoke(http, auth, token, Some(hint)).await;
            assert_eq!(
                reply.status,
                200,
                "{who} revoking the web app's {kind} gets the response for an unknown token: {}",
                reply.describe()
            );
        }
    }
    assert_product_docs(&datasets(http, &tokens.access_token).await);
    let reply = refresh(http, ClientAuth::of(&WEB_APP), &tokens.refresh_token, None).await;
    let refreshed = Tokens::from_reply(&reply);
    assert_product_docs(&datasets(http, &refreshed.access_token).await);
}
