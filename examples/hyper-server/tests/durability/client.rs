//! The client side of the authorization-code flow with PKCE against one server
//! process, as a user and a confidential app created by bootstrap.

use portcullis_e2e::http::query_param;
use portcullis_e2e::oauth::{ClientAuth, Tokens, exchange_form, random_state, token_request};
use portcullis_e2e::{Browser, ConsentForm, Form, Http, Pkce, Reply};
use url::Url;

use crate::process::random_hex;

/// The app's one redirect URI. The client reads the `Location` of the redirect
/// and never follows it, so nothing needs to listen there.
pub(crate) const REDIRECT_URI: &str = "http://localhost:5000/callback";

/// The scope every authorization requests: enough for `GET /v1/datasets`.
pub(crate) const SCOPE: &str = "datasets:read";

/// A user and a confidential app that the bootstrap file creates, with their
/// secrets in clear.
#[derive(Clone, Debug)]
pub(crate) struct Tenant {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

impl Tenant {
    /// Creates credentials whose names contain `label` and random digits, so
    /// runs that share one database never collide.
    pub(crate) fn unique(label: &str) -> Self {
        let suffix = random_hex();
        Self {
            username: format!("durability-{label}-{suffix}"),
            password: format!("password-{}", random_hex()),
            client_id: format!("durability-{label}-{suffix}"),
            client_secret: format!("secret-{}{}", random_hex(), random_hex()),
        }
    }

    /// Returns the bootstrap file, in TOML, that creates the user and the app.
    pub(crate) fn bootstrap_toml(&self) -> String {
        format!(
            "[[users]]\n\
             username = {}\n\
             password = {}\n\
             \n\
             [[apps]]\n\
             name = {}\n\
             client_id = {}\n\
             client_secret = {}\n\
             redirect_uris = [{}]\n\
             scopes = [{}]\n",
            toml_string(&self.username),
            toml_string(&self.password),
            toml_string(&format!("Durability test app {}", self.client_id)),
            toml_string(&self.client_id),
            toml_string(&self.client_secret),
            toml_string(REDIRECT_URI),
            toml_string(SCOPE),
        )
    }

    /// Returns the app's client authentication, `client_secret_post`.
    pub(crate) fn auth(&self) -> ClientAuth<'_> {
        ClientAuth::Post {
            client_id: &self.client_id,
            secret: &self.client_secret,
        }
    }
}

/// Quotes a TOML basic string.
///
/// # Panics
///
/// Panics when `value` contains a quote, a backslash or a control character,
/// which would need escapes that the generated credentials never need.
fn toml_string(value: &str) -> String {
    assert!(
        !value
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control()),
        "{value:?} needs TOML escapes"
    );
    format!("\"{value}\"")
}

/// An authorization request shown on the consent page, not yet approved or denied.
#[derive(Debug)]
pub(crate) struct PendingConsent {
    pub(crate) form: ConsentForm,
    pub(crate) pkce: Pkce,
    pub(crate) state: String,
}

/// An authorization code with the PKCE verifier its redemption needs.
#[derive(Debug)]
pub(crate) struct Authorized {
    pub(crate) code: String,
    pub(crate) verifier: String,
}

/// Builds the authorization request of `tenant`'s app with a new PKCE pair and state.
fn authorization_query(tenant: &Tenant, pkce: &Pkce, state: &str) -> Form {
    Form::new()
        .with("response_type", "code")
        .with("client_id", &tenant.client_id)
        .with("redirect_uri", REDIRECT_URI)
        .with("scope", SCOPE)
        .with("state", state)
        .with("code_challenge", &pkce.challenge)
        .with("code_challenge_method", "S256")
}

/// Returns the `GET /oauth/authorize` path and query for a new request of `tenant`'s app.
pub(crate) fn authorization_path(tenant: &Tenant) -> String {
    let query = authorization_query(tenant, &Pkce::generate(), &random_state());
    format!("/oauth/authorize?{}", query.encode())
}

/// Opens the consent page for a new authorization request in `browser`.
///
/// # Panics
///
/// Panics unless the page is a 200 with a sign-in form.
pub(crate) async fn open_consent(browser: &mut Browser, tenant: &Tenant) -> PendingConsent {
    let pkce = Pkce::generate();
    let state = random_state();
    let query = authorization_query(tenant, &pkce, &state);
    let (_, form) = browser.open_consent(&query).await;
    assert!(
        form.has_sign_in,
        "a browser without a session gets the sign-in inputs: {form:?}"
    );
    PendingConsent { form, pkce, state }
}

/// Signs in as `tenant`'s user on the consent form and approves; returns the server's reply.
pub(crate) async fn approve(
    browser: &mut Browser,
    http: &Http,
    pending: &PendingConsent,
    tenant: &Tenant,
) -> Reply {
    let fields = Form::new()
        .with("request_id", &pending.form.request_id)
        .with("csrf", &pending.form.csrf)
        .with("username", &tenant.username)
        .with("password", &tenant.password)
        .with("decision", "approve");
    let base = Url::parse(http.base_url()).expect("the base URL is valid");
    let action = base.join(&pending.form.action).unwrap_or_else(|error| {
        panic!("form action {:?} is invalid: {error}", pending.form.action)
    });
    browser.post_form(action.path(), &fields).await
}

/// Reads the code from the 303 response to an approved consent form.
///
/// # Panics
///
/// Panics unless the reply is a 303 to [`REDIRECT_URI`] with a `code`, the
/// request's `state` and `iss` equal to `issuer` (RFC 9207 §2).
pub(crate) fn code_from_redirect(
    reply: &Reply,
    http: &Http,
    issuer: &str,
    pending: PendingConsent,
) -> Authorized {
    assert_eq!(
        reply.status,
        303,
        "the approved consent form redirects to the client: {}",
        reply.describe()
    );
    let location = reply
        .location(http.base_url())
        .unwrap_or_else(|| panic!("the redirect has a Location: {}", reply.describe()));
    assert_eq!(
        location.as_str().split('?').next(),
        Some(REDIRECT_URI),
        "the redirect goes to the app's redirect URI"
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(pending.state.as_str()),
        "the redirect carries the request's state"
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(issuer),
        "the redirect carries iss equal to the issuer (RFC 9207 §2)"
    );
    let code = query_param(&location, "code")
        .unwrap_or_else(|| panic!("the redirect carries a code: {location}"));
    Authorized {
        code,
        verifier: pending.pkce.verifier,
    }
}

/// Runs the authorization request of `tenant`'s app in a new browser, signs in and approves.
pub(crate) async fn authorize(http: &Http, issuer: &str, tenant: &Tenant) -> Authorized {
    let mut browser = Browser::new(http);
    let pending = open_consent(&mut browser, tenant).await;
    let reply = approve(&mut browser, http, &pending, tenant).await;
    code_from_redirect(&reply, http, issuer, pending)
}

/// Redeems an authorization code at the token endpoint.
pub(crate) async fn redeem(http: &Http, tenant: &Tenant, authorized: &Authorized) -> Reply {
    let form = exchange_form(&authorized.code, REDIRECT_URI, &authorized.verifier);
    token_request(http, tenant.auth(), form).await
}

/// Authorizes `tenant`'s app and redeems the code.
pub(crate) async fn obtain_tokens(http: &Http, issuer: &str, tenant: &Tenant) -> Tokens {
    let authorized = authorize(http, issuer, tenant).await;
    Tokens::from_reply(&redeem(http, tenant, &authorized).await)
}

/// Returns the `id` of the first dataset in a `GET /v1/datasets` reply, which
/// names the token's user.
///
/// # Panics
///
/// Panics unless the reply is a 200 whose body lists a dataset with an `id`.
pub(crate) fn first_dataset_id(reply: &Reply) -> String {
    assert_eq!(
        reply.status,
        200,
        "GET /v1/datasets with the access token succeeds: {}",
        reply.describe()
    );
    let body = reply.json();
    body.pointer("/datasets/0/id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("the dataset list has an id: {body}"))
        .to_owned()
}
