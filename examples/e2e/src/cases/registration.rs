//! Dynamic client registration (RFC 7591), its rate limit, and the error
//! page that dynamically registered clients get before sign-in (RFC 9700 §4.11.2).

use portcullis_fltr::AppOptions;
use serde_json::{Value, json};

use crate::browser::Decision;
use crate::client_requests::{assert_inactive, introspect};
use crate::fixture::{ALICE, DESKTOP_APP, START_TIME, WEB_APP};
use crate::http::Form;
use crate::oauth::{ClientAuth, authorize_in};
use crate::registration::{
    RegisteredClient, post_registration, public_client_metadata, register, register_public_client,
};
use crate::resource::{AuthorizationRequest, assert_error_page, assert_error_redirect};
use crate::{Harness, Reply};

/// Checks the headers every registration response carries: JSON that must
/// not be cached, because a 201 may carry a client secret (RFC 7591 §3.2.1).
#[track_caller]
fn assert_no_store_json(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "{what}: the response carries Cache-Control: no-store: {}",
        reply.describe()
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "{what}: the response is JSON: {}",
        reply.describe()
    );
}

/// Asserts that a registration failed with 400 and the RFC 7591 §3.2.2 `error`.
#[track_caller]
fn assert_registration_error(reply: &Reply, error: &str, what: &str) {
    assert_eq!(
        reply.status,
        400,
        "{what}: the registration is rejected with 400: {}",
        reply.describe()
    );
    assert_eq!(
        reply.oauth_error().as_deref(),
        Some(error),
        "{what}: error is {error}: {}",
        reply.describe()
    );
    assert!(
        reply.json().get("client_id").is_none(),
        "{what}: no client_id is issued"
    );
    assert_no_store_json(reply, what);
}

/// Returns `true` when every byte of `text` is an unreserved URI character
/// (RFC 3986 §2.3), so the secret needs no escaping in a form or a header.
fn is_unreserved(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// A public client registers with `token_endpoint_auth_method` `none`: the
/// 201 carries a new `client_id`, `client_id_issued_at` from the server's
/// clock and every registered field, and no secret (RFC 7591 §3.2.1).
pub async fn public_client_registration(harness: &Harness) {
    let metadata = public_client_metadata("Example MCP client");
    let reply = register(harness.http(), &metadata).await;
    let client = RegisteredClient::from_reply(&reply);
    assert_no_store_json(&reply, "a public client's registration");
    let body = &client.response;

    assert!(
        !client.client_id.is_empty(),
        "the client_id is not empty: {body}"
    );
    for fixture_id in [WEB_APP.client_id, DESKTOP_APP.client_id] {
        assert_ne!(
            client.client_id, fixture_id,
            "the client_id is new, not an existing client's"
        );
    }
    assert_eq!(
        body.get("client_id_issued_at").and_then(Value::as_u64),
        Some(START_TIME),
        "client_id_issued_at is the server's time in Unix seconds: {body}"
    );
    for field in [
        "redirect_uris",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "client_name",
    ] {
        assert_eq!(
            body.get(field),
            metadata.get(field),
            "the response echoes the registered {field}: {body}"
        );
    }
    assert!(
        body.get("client_secret").is_none(),
        "a public client gets no client_secret: {body}"
    );
    assert!(
        body.get("client_secret_expires_at").is_none(),
        "a public client gets no client_secret_expires_at: {body}"
    );

    let second = register_public_client(harness.http(), "Example MCP client").await;
    assert_ne!(
        second.client_id, client.client_id,
        "a second registration with the same metadata gets another client_id"
    );
}

/// A confidential client gets a `client_secret` of unreserved characters with
/// `client_secret_expires_at` 0, meaning it never expires (RFC 7591 §3.2.1).
/// Without `token_endpoint_auth_method` the client uses `client_secret_basic`,
/// the RFC 7591 §2 default. Each issued secret authenticates the client.
pub async fn confidential_client_registration(harness: &Harness) {
    let http = harness.http();
    let post_metadata = json!({
        "redirect_uris": ["https://app.example/cb"],
        "token_endpoint_auth_method": "client_secret_post",
        "client_name": "Example web app",
    });
    let basic_metadata = json!({
        "redirect_uris": ["https://app.example/cb"],
        "client_name": "Example web app with defaults",
    });
    let mut secrets = Vec::new();
    for (what, metadata, method) in [
        ("client_secret_post", post_metadata, "client_secret_post"),
        (
            "no token_endpoint_auth_method",
            basic_metadata,
            "client_secret_basic",
        ),
    ] {
        let reply = register(http, &metadata).await;
        let client = RegisteredClient::from_reply(&reply);
        assert_no_store_json(&reply, what);
        let body = &client.response;
        assert_eq!(
            body.get("token_endpoint_auth_method")
                .and_then(Value::as_str),
            Some(method),
            "{what}: the response names the method {method}: {body}"
        );
        let secret = client
            .client_secret
            .clone()
            .unwrap_or_else(|| panic!("{what}: a confidential client gets a client_secret"));
        assert!(
            secret.len() >= 43,
            "{what}: the secret carries at least 256 bits as 43 or more base64url characters, got {} characters",
            secret.len()
        );
        assert!(
            is_unreserved(&secret),
            "{what}: the secret is made of unreserved URI characters"
        );
        assert_eq!(
            body.get("client_secret_expires_at"),
            Some(&json!(0)),
            "{what}: client_secret_expires_at is 0, meaning never (RFC 7591 §3.2.1): {body}"
        );

        let auth = match method {
            "client_secret_post" => ClientAuth::Post {
                client_id: &client.client_id,
                secret: &secret,
            },
            _ => ClientAuth::Basic {
                client_id: &client.client_id,
                secret: &secret,
            },
        };
        let reply = introspect(http, auth, "fltr_at_unknown", None).await;
        assert_inactive(
            &reply,
            &format!("{what}: introspection authenticated with the issued secret"),
        );
        let wrong = ClientAuth::Post {
            client_id: &client.client_id,
            secret: "not-the-issued-secret-of-this-client-at-all",
        };
        let reply = introspect(http, wrong, "fltr_at_unknown", None).await;
        assert_eq!(
            reply.status,
            401,
            "{what}: a wrong secret for the registered client is rejected: {}",
            reply.describe()
        );
        secrets.push(secret);
    }
    assert_ne!(secrets[0], secrets[1], "each client gets its own secret");
}

/// Metadata fields the server does not know, such as `application_type`
/// sent by MCP SDKs, are ignored rather than rejected (RFC 7591 §2). A public
/// client may register a reverse-domain private-use scheme (RFC 8252 §7.1),
/// `https` and loopback `http` redirect URIs, each echoed unchanged.
pub async fn registration_ignores_unknown_fields(harness: &Harness) {
    let http = harness.http();
    let mut metadata = public_client_metadata("Native client");
    metadata["application_type"] = json!("native");
    metadata["x_foo"] = json!(1);
    let reply = register(http, &metadata).await;
    RegisteredClient::from_reply(&reply);

    for redirect_uri in [
        "com.example.app:/cb",
        "http://localhost/cb",
        "http://[::1]/cb",
        "http://127.0.0.1:8123/callback",
        "https://app.example/cb",
    ] {
        let mut metadata = public_client_metadata("Native client");
        metadata["redirect_uris"] = json!([redirect_uri]);
        let reply = register(http, &metadata).await;
        assert_eq!(
            reply.status,
            201,
            "the redirect URI {redirect_uri} is accepted for a public client: {}",
            reply.describe()
        );
        assert_eq!(
            reply.json().get("redirect_uris"),
            Some(&json!([redirect_uri])),
            "the redirect URI {redirect_uri} is echoed unchanged"
        );
    }
}

/// Redirect URIs that are not `https`, loopback `http` or a reverse-domain
/// private-use scheme, or that carry a fragment, userinfo or a wildcard, get
/// 400 `invalid_redirect_uri` (RFC 7591 §3.2.2, RFC 8252 §7.1, RFC 9700 §4.1.3).
pub async fn invalid_redirect_uris_are_rejected(harness: &Harness) {
    let http = harness.http();
    for redirect_uri in [
        "http://app.example/cb",
        "https://app.example/cb#x",
        "myapp:/cb",
        "javascript:alert(1)",
        "data:text/html,hi",
        "file:///tmp/cb",
        "https://*.app.example/cb",
        "https://app.example/*",
        "https://user:pass@app.example/cb",
        "/cb",
    ] {
        let mut metadata = public_client_metadata("Bad redirect");
        metadata["redirect_uris"] = json!([redirect_uri]);
        let reply = register(http, &metadata).await;
        assert_registration_error(
            &reply,
            "invalid_redirect_uri",
            &format!("redirect URI {redirect_uri:?}"),
        );
    }

    let confidential_private_scheme = json!({
        "redirect_uris": ["com.example.app:/cb"],
        "token_endpoint_auth_method": "client_secret_post",
    });
    let reply = register(http, &confidential_private_scheme).await;
    assert_registration_error(
        &reply,
        "invalid_redirect_uri",
        "a private-use scheme for a confidential client",
    );

    let mut empty = public_client_metadata("No redirect");
    empty["redirect_uris"] = json!([]);
    let reply = register(http, &empty).await;
    assert_registration_error(&reply, "invalid_redirect_uri", "an empty redirect_uris");
}

/// Metadata the server cannot honour gets 400 `invalid_client_metadata`: an
/// unknown scope, the implicit grant, a token response type, an unsupported
/// authentication method, and a body that is not a JSON object (RFC 7591 §3.2.2).
pub async fn invalid_client_metadata_is_rejected(harness: &Harness) {
    let http = harness.http();
    let cases = [
        (
            "an unknown scope",
            "scope",
            json!("datasets:read nonsense:x"),
        ),
        ("the implicit grant", "grant_types", json!(["implicit"])),
        (
            "the password grant",
            "grant_types",
            json!(["authorization_code", "password"]),
        ),
        (
            "the token response type",
            "response_types",
            json!(["token"]),
        ),
        (
            "private_key_jwt",
            "token_endpoint_auth_method",
            json!("private_key_jwt"),
        ),
    ];
    for (what, field, value) in cases {
        let mut metadata = public_client_metadata("Bad metadata");
        metadata[field] = value;
        let reply = register(http, &metadata).await;
        assert_registration_error(&reply, "invalid_client_metadata", what);
    }

    let form = b"redirect_uris=http%3A%2F%2F127.0.0.1%2Fcb&token_endpoint_auth_method=none";
    for (what, content_type, body) in [
        (
            "a form body sent as application/json",
            "application/json",
            &form[..],
        ),
        (
            "a form body sent as a form",
            "application/x-www-form-urlencoded",
            &form[..],
        ),
        (
            "a JSON array",
            "application/json",
            b"[\"http://127.0.0.1/cb\"]",
        ),
    ] {
        let reply = post_registration(http, content_type, body).await;
        assert_registration_error(&reply, "invalid_client_metadata", what);
    }
}

/// One source address may register at most the FLTR default of 20 clients a
/// minute. The next registration gets 429 with `Retry-After` and no client,
/// and the next minute allows registrations again.
pub async fn registration_is_rate_limited(harness: &Harness) {
    // The harness builds its server with the default options.
    let limit = AppOptions::default().registrations_per_minute;
    let http = harness.http();
    for number in 1..=limit {
        let reply = register(http, &public_client_metadata("Burst client")).await;
        assert_eq!(
            reply.status,
            201,
            "registration {number} of {limit} in one minute succeeds: {}",
            reply.describe()
        );
    }

    let reply = register(http, &public_client_metadata("Burst client")).await;
    assert_eq!(
        reply.status,
        429,
        "registration {} in one minute gets 429 Too Many Requests: {}",
        limit + 1,
        reply.describe()
    );
    let retry_after: u64 = reply
        .header("retry-after")
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("the 429 has a numeric Retry-After: {:?}", reply.headers));
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After is within the minute, got {retry_after}"
    );
    assert!(
        !reply.text().contains("client_id"),
        "the 429 issues no client: {}",
        reply.describe()
    );

    harness.advance_clock(60);
    let reply = register(http, &public_client_metadata("Next minute client")).await;
    RegisteredClient::from_reply(&reply);
}

/// Errors in an authorization request of a dynamically registered client
/// are shown on the error page while no one is signed in, so open
/// registration cannot make the server an open redirector (RFC 9700 §4.11.2).
/// The same errors for a client created by an administrator, or for the
/// dynamic client once the user has signed in, go to the redirect URI.
pub async fn dynamic_client_errors_stay_on_server(harness: &Harness) {
    let http = harness.http();
    let dynamic = register_public_client(http, "Unverified client").await;
    let redirect_uri = "http://127.0.0.1:53117/cb";
    let scope = "datasets:read";
    type Change = fn(Form) -> Form;
    let cases: [(&str, Change, &str); 4] = [
        (
            "an unknown scope",
            |query| query.set("scope", "datasets:read nonsense:x"),
            "invalid_scope",
        ),
        (
            "code_challenge_method=plain",
            |query| query.set("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            "no code_challenge",
            |query| query.without("code_challenge"),
            "invalid_request",
        ),
        (
            "an unknown resource",
            |query| query.with("resource", "https://other.example/mcp"),
            "invalid_target",
        ),
    ];

    for (what, change, error) in cases {
        let mut request = AuthorizationRequest::new(&dynamic.client_id, redirect_uri, scope);
        request.query = change(request.query);
        let reply = http.get(&request.path(), &[]).await;
        assert_error_page(
            &reply,
            error,
            &format!("{what} for a dynamic client before sign-in"),
        );

        let mut request = AuthorizationRequest::new(DESKTOP_APP.client_id, redirect_uri, scope);
        request.query = change(request.query);
        let reply = http.get(&request.path(), &[]).await;
        assert_error_redirect(
            harness,
            &reply,
            redirect_uri,
            error,
            &request.state,
            &format!("{what} for an administrator-created client"),
        );
    }

    let request = AuthorizationRequest::new(&dynamic.client_id, redirect_uri, scope);
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&request.query).await;
    let reply = browser.submit_consent(&form, None, Decision::Deny).await;
    assert!(
        reply.headers.get("location").is_none(),
        "deny before sign-in for a dynamic client does not redirect: {}",
        reply.describe()
    );
    assert!(
        reply.status.is_success() || reply.status.is_client_error(),
        "deny before sign-in for a dynamic client shows a page: {}",
        reply.describe()
    );

    let mut signed_in = harness.browser();
    authorize_in(
        harness,
        &mut signed_in,
        &DESKTOP_APP,
        redirect_uri,
        scope,
        ALICE,
    )
    .await;
    let request = AuthorizationRequest::new(&dynamic.client_id, redirect_uri, scope);
    let query = request
        .query
        .clone()
        .set("scope", "datasets:read nonsense:x");
    let reply = signed_in
        .get(&format!("/oauth/authorize?{}", query.encode()))
        .await;
    assert_error_redirect(
        harness,
        &reply,
        redirect_uri,
        "invalid_scope",
        &request.state,
        "an unknown scope for a dynamic client after sign-in",
    );
}
