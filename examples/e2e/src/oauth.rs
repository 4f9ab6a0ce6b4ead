//! The client side of the authorization-code flow: authorization requests,
//! sign-in and consent, token requests and calls to the `/v1` API.

use base64ct::{Base64, Encoding};
use rand_core::{OsRng, RngCore};
use url::Url;

use crate::Harness;
use crate::browser::{Browser, Decision};
use crate::fixture::{App, User};
use crate::http::{Form, Http, Reply, query_param};
use crate::pkce::Pkce;

/// How a client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug)]
pub enum ClientAuth<'a> {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post {
        /// The `client_id`.
        client_id: &'a str,
        /// The secret sent.
        secret: &'a str,
    },
    /// `Authorization: Basic` with the form-encoded id and secret (`client_secret_basic`, RFC 6749 §2.3.1).
    Basic {
        /// The `client_id`.
        client_id: &'a str,
        /// The secret sent.
        secret: &'a str,
    },
    /// `client_id` only, as a public client sends it.
    Public {
        /// The `client_id`.
        client_id: &'a str,
    },
}

impl ClientAuth<'static> {
    /// Authenticates as `app` the way the FLTR guide does: `client_secret_post`
    /// for a confidential app, `client_id` alone for a public one.
    pub fn of(app: &App) -> Self {
        match app.secret {
            Some(secret) => Self::Post {
                client_id: app.client_id,
                secret,
            },
            None => Self::Public {
                client_id: app.client_id,
            },
        }
    }

    /// Authenticates as confidential `app` with `client_secret_basic`.
    ///
    /// # Panics
    ///
    /// Panics for a public app.
    pub fn basic(app: &App) -> Self {
        Self::Basic {
            client_id: app.client_id,
            secret: app.secret.expect("a confidential app has a secret"),
        }
    }
}

/// Builds the `Authorization: Basic` value: base64 of the form-encoded id, `:`
/// and the form-encoded secret (RFC 6749 §2.3.1).
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    format!("Basic {}", Base64::encode_string(credentials.as_bytes()))
}

/// The tokens of a successful token response.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// `access_token`.
    pub access_token: String,
    /// `refresh_token`.
    pub refresh_token: String,
    /// `token_type`.
    pub token_type: String,
    /// `expires_in`, in seconds.
    pub expires_in: u64,
    /// `scope`.
    pub scope: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Reads the tokens of a 200 token response.
    ///
    /// # Panics
    ///
    /// Panics unless the reply is 200 with every field of OAuth 2.1 §3.2.3 that FLTR sends.
    pub fn from_reply(reply: &Reply) -> Self {
        assert_eq!(
            reply.status,
            200,
            "the token request succeeds: {}",
            reply.describe()
        );
        let body = reply.json();
        let text = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_else(|| panic!("the token response has a string {name}: {body}"))
                .to_owned()
        };
        Self {
            access_token: text("access_token"),
            refresh_token: text("refresh_token"),
            token_type: text("token_type"),
            expires_in: body
                .get("expires_in")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or_else(|| panic!("the token response has a numeric expires_in: {body}")),
            scope: text("scope"),
        }
    }
}

/// An authorization code and what its redemption needs.
#[derive(Clone, Debug)]
pub struct Authorized {
    /// The `code` of the redirect.
    pub code: String,
    /// The PKCE pair whose challenge the request carried.
    pub pkce: Pkce,
    /// The `state` the request carried.
    pub state: String,
    /// The redirect URI the request carried.
    pub redirect_uri: String,
    /// The whole `Location` of the redirect.
    pub location: Url,
}

/// Returns a random `state` of 32 bytes in base64url, as Python's `secrets.token_urlsafe(32)`.
pub fn random_state() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64ct::Base64UrlUnpadded::encode_string(&bytes)
}

/// Builds the FLTR guide's authorization request for `app`, in the guide's parameter order.
pub fn authorization_query(
    app: &App,
    redirect_uri: &str,
    scope: &str,
    state: &str,
    pkce: &Pkce,
) -> Form {
    Form::new()
        .with("response_type", "code")
        .with("client_id", app.client_id)
        .with("redirect_uri", redirect_uri)
        .with("scope", scope)
        .with("state", state)
        .with("code_challenge", &pkce.challenge)
        .with("code_challenge_method", "S256")
}

/// Opens the consent page for `query`, signs in as `user` and approves.
///
/// Returns the server's reply to the form, which should be a 303 to the client.
pub async fn sign_in_and_decide(
    browser: &mut Browser,
    query: &Form,
    user: User,
    decision: Decision,
) -> Reply {
    let (_, form) = browser.open_consent(query).await;
    let user = form.has_sign_in.then_some(user);
    browser.submit_consent(&form, user, decision).await
}

/// Reads the code from the 303 response to an approved consent form, checking
/// `state` and `iss` (RFC 9207 §2).
///
/// # Panics
///
/// Panics unless the reply is a 303 to `redirect_uri` with `code`, the same
/// `state` and `iss` equal to the issuer.
pub fn code_from_redirect(
    harness: &Harness,
    reply: &Reply,
    redirect_uri: &str,
    state: &str,
) -> (String, Url) {
    assert_eq!(
        reply.status,
        303,
        "the approved form answers 303 See Other: {}",
        reply.describe()
    );
    let location = reply
        .location(harness.base_url())
        .unwrap_or_else(|| panic!("the 303 has a Location: {}", reply.describe()));
    let target = location.as_str().split('?').next().unwrap_or_default();
    assert_eq!(
        target, redirect_uri,
        "the redirect goes to the request's redirect_uri"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state),
        "the redirect carries the request's state"
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(harness.issuer()),
        "the redirect carries iss equal to the issuer (RFC 9207 §2)"
    );
    assert_eq!(
        query_param(&location, "error"),
        None,
        "the redirect carries no error"
    );
    let code = query_param(&location, "code")
        .unwrap_or_else(|| panic!("the redirect carries a code: {location}"));
    (code, location)
}

/// Runs the authorization request of `app` for `scope` in a new browser, signs
/// in as `user` and approves.
pub async fn authorize(harness: &Harness, app: &App, scope: &str, user: User) -> Authorized {
    let mut browser = harness.browser();
    authorize_in(harness, &mut browser, app, app.redirect_uri, scope, user).await
}

/// Like [`authorize`], in a given browser and with a given redirect URI.
pub async fn authorize_in(
    harness: &Harness,
    browser: &mut Browser,
    app: &App,
    redirect_uri: &str,
    scope: &str,
    user: User,
) -> Authorized {
    let pkce = Pkce::generate();
    let state = random_state();
    let query = authorization_query(app, redirect_uri, scope, &state, &pkce);
    let reply = sign_in_and_decide(browser, &query, user, Decision::Approve).await;
    let (code, location) = code_from_redirect(harness, &reply, redirect_uri, &state);
    Authorized {
        code,
        pkce,
        state,
        redirect_uri: redirect_uri.to_owned(),
        location,
    }
}

/// Sends a token request: `form` plus the client authentication of `auth`.
pub async fn token_request(http: &Http, auth: ClientAuth<'_>, form: Form) -> Reply {
    match auth {
        ClientAuth::Post { client_id, secret } => {
            let form = form
                .with("client_id", client_id)
                .with("client_secret", secret);
            http.post_form("/oauth/token", &form.encode(), &[]).await
        }
        ClientAuth::Basic { client_id, secret } => {
            let authorization = basic_authorization(client_id, secret);
            http.post_form(
                "/oauth/token",
                &form.encode(),
                &[("authorization", &authorization)],
            )
            .await
        }
        ClientAuth::Public { client_id } => {
            let form = form.with("client_id", client_id);
            http.post_form("/oauth/token", &form.encode(), &[]).await
        }
    }
}

/// Builds the code exchange form of the FLTR guide, without client authentication.
pub fn exchange_form(code: &str, redirect_uri: &str, verifier: &str) -> Form {
    Form::new()
        .with("grant_type", "authorization_code")
        .with("code", code)
        .with("redirect_uri", redirect_uri)
        .with("code_verifier", verifier)
}

/// Exchanges an authorization code as the FLTR guide does.
pub async fn exchange(http: &Http, auth: ClientAuth<'_>, authorized: &Authorized) -> Reply {
    let form = exchange_form(
        &authorized.code,
        &authorized.redirect_uri,
        &authorized.pkce.verifier,
    );
    token_request(http, auth, form).await
}

/// Sends a refresh request, with a narrower `scope` when given.
pub async fn refresh(
    http: &Http,
    auth: ClientAuth<'_>,
    refresh_token: &str,
    scope: Option<&str>,
) -> Reply {
    let mut form = Form::new()
        .with("grant_type", "refresh_token")
        .with("refresh_token", refresh_token);
    if let Some(scope) = scope {
        form = form.with("scope", scope);
    }
    token_request(http, auth, form).await
}

/// Authorizes `app` for `scope` as `user` and exchanges the code with the
/// guide's client authentication.
pub async fn obtain_tokens(harness: &Harness, app: &App, scope: &str, user: User) -> Tokens {
    let authorized = authorize(harness, app, scope, user).await;
    Tokens::from_reply(&exchange(harness.http(), ClientAuth::of(app), &authorized).await)
}

/// Calls `GET /v1/datasets` with a bearer token.
pub async fn datasets(http: &Http, access_token: &str) -> Reply {
    let authorization = format!("Bearer {access_token}");
    http.get("/v1/datasets", &[("authorization", &authorization)])
        .await
}

/// Returns the JSON `error` of a token error reply, checking that it is JSON that must not be cached.
///
/// # Panics
///
/// Panics when the body has no `error` or the reply lacks `Cache-Control: no-store`.
pub fn token_error(reply: &Reply) -> String {
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "token endpoint errors carry Cache-Control: no-store (RFC 6749 §5.1): {}",
        reply.describe()
    );
    reply.oauth_error().unwrap_or_else(|| {
        panic!(
            "the token error is JSON with an error field: {}",
            reply.describe()
        )
    })
}

/// Asserts that a token request failed with `status` and `error`.
#[track_caller]
pub fn assert_token_error(reply: &Reply, status: u16, error: &str, what: &str) {
    assert_eq!(
        reply.status,
        status,
        "{what}: status {status}: {}",
        reply.describe()
    );
    assert_eq!(token_error(reply), error, "{what}: error {error}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(
            basic_authorization("a b", "c:d!"),
            format!("Basic {}", Base64::encode_string(b"a+b:c%3Ad%21"))
        );
    }
}
