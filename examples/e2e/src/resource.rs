//! Resource indicators (RFC 8707) from the client's side, and calls to the two
//! protected resources of the FLTR server: the `/v1` API and the `/mcp` endpoint.

use url::Url;

use crate::Harness;
use crate::browser::{Browser, Decision};
use crate::fixture::User;
use crate::http::{Form, Http, Reply, query_param};
use crate::oauth::{
    Authorized, ClientAuth, code_from_redirect, exchange_form, random_state, token_request,
};
use crate::pkce::Pkce;

/// Path of the sample API, the default resource of every token.
pub const API_PATH: &str = "/v1";

/// Path of the sample MCP endpoint, a second resource with its own audience.
pub const MCP_PATH: &str = "/mcp";

/// Returns the canonical resource URI of the resource at `path`: the issuer followed by the path.
pub fn resource_uri(harness: &Harness, path: &str) -> String {
    format!("{}{path}", harness.issuer())
}

/// Returns the URL of the protected resource metadata of the resource at
/// `path`: the well-known suffix goes between host and path (RFC 9728 §3.1).
pub fn resource_metadata_url(harness: &Harness, path: &str) -> String {
    format!(
        "{}/.well-known/oauth-protected-resource{path}",
        harness.issuer()
    )
}

/// An authorization request of the code flow, with the PKCE verifier and the
/// state that the client keeps for the redirect and the token request.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The query of `GET /oauth/authorize`.
    pub query: Form,
    /// The PKCE pair whose challenge the query carries.
    pub pkce: Pkce,
    /// The `state` the query carries.
    pub state: String,
    /// The `redirect_uri` the query carries.
    pub redirect_uri: String,
}

impl AuthorizationRequest {
    /// Builds a request for `client_id` with fresh PKCE and state, in the FLTR guide's order.
    pub fn new(client_id: &str, redirect_uri: &str, scope: &str) -> Self {
        let pkce = Pkce::generate();
        let state = random_state();
        let query = Form::new()
            .with("response_type", "code")
            .with("client_id", client_id)
            .with("redirect_uri", redirect_uri)
            .with("scope", scope)
            .with("state", &state)
            .with("code_challenge", &pkce.challenge)
            .with("code_challenge_method", "S256");
        Self {
            query,
            pkce,
            state,
            redirect_uri: redirect_uri.to_owned(),
        }
    }

    /// Adds a `resource` parameter (RFC 8707 §2); calling it twice sends two.
    #[must_use]
    pub fn with_resource(mut self, resource: &str) -> Self {
        self.query = self.query.with("resource", resource);
        self
    }

    /// Returns the path and query of the request at the authorization endpoint.
    pub fn path(&self) -> String {
        format!("/oauth/authorize?{}", self.query.encode())
    }

    /// Opens the consent page in `browser`, signs in as `user` when the page shows sign-in inputs, and
    /// approves; returns the code of the redirect.
    ///
    /// # Panics
    ///
    /// Panics unless the page shows the consent form and the approval
    /// redirects to the request's redirect URI with a code, `state` and `iss`.
    pub async fn approve(
        &self,
        harness: &Harness,
        browser: &mut Browser,
        user: User,
    ) -> Authorized {
        let (_, form) = browser.open_consent(&self.query).await;
        let user = form.has_sign_in.then_some(user);
        let reply = browser.submit_consent(&form, user, Decision::Approve).await;
        self.authorized(harness, &reply)
    }

    /// Reads the code from the 303 response to the approved consent form.
    ///
    /// # Panics
    ///
    /// Panics as [`code_from_redirect`] does.
    pub fn authorized(&self, harness: &Harness, reply: &Reply) -> Authorized {
        let (code, location) = code_from_redirect(harness, reply, &self.redirect_uri, &self.state);
        Authorized {
            code,
            pkce: self.pkce.clone(),
            state: self.state.clone(),
            redirect_uri: self.redirect_uri.clone(),
            location,
        }
    }
}

/// Exchanges a code, sending `resource` when given.
pub async fn exchange_with_resource(
    http: &Http,
    auth: ClientAuth<'_>,
    authorized: &Authorized,
    resource: Option<&str>,
) -> Reply {
    let mut form = exchange_form(
        &authorized.code,
        &authorized.redirect_uri,
        &authorized.pkce.verifier,
    );
    if let Some(resource) = resource {
        form = form.with("resource", resource);
    }
    token_request(http, auth, form).await
}

/// Sends a refresh request, sending `resource` when given.
pub async fn refresh_with_resource(
    http: &Http,
    auth: ClientAuth<'_>,
    refresh_token: &str,
    resource: Option<&str>,
) -> Reply {
    let mut form = Form::new()
        .with("grant_type", "refresh_token")
        .with("refresh_token", refresh_token);
    if let Some(resource) = resource {
        form = form.with("resource", resource);
    }
    token_request(http, auth, form).await
}

/// Sends an MCP `initialize` request with JSON-RPC id 1 to `POST /mcp`,
/// with `Authorization: Bearer` when a token is given.
pub async fn call_mcp(http: &Http, access_token: Option<&str>) -> Reply {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "portcullis-e2e", "version": "0"}},
    });
    let authorization = access_token.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(authorization) = &authorization {
        headers.push(("authorization", authorization.as_str()));
    }
    http.send(
        reqwest::Method::POST,
        MCP_PATH,
        &headers,
        Some(body.to_string().into_bytes()),
    )
    .await
}

/// Asserts that `POST /mcp` accepted the token: 200 and the JSON-RPC response to id 1.
#[track_caller]
pub fn assert_mcp_ok(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        200,
        "{what}: POST /mcp accepts the token: {}",
        reply.describe()
    );
    let body = reply.json();
    assert_eq!(
        body.get("id"),
        Some(&serde_json::json!(1)),
        "{what}: the MCP response carries the request's id: {body}"
    );
    assert!(
        body.get("result").is_some(),
        "{what}: the MCP response has a result: {body}"
    );
}

/// Checks that a reply redirects `error` to `redirect_uri` with `iss` and no
/// code, whatever its `state`, and returns the `Location`.
///
/// # Panics
///
/// Panics, naming `what`, on any difference.
#[track_caller]
pub fn assert_error_redirect_any_state(
    harness: &Harness,
    reply: &Reply,
    redirect_uri: &str,
    error: &str,
    what: &str,
) -> Url {
    assert!(
        matches!(reply.status.as_u16(), 302 | 303),
        "{what}: the error is redirected with 302 or 303: {}",
        reply.describe()
    );
    let location = reply
        .location(harness.base_url())
        .unwrap_or_else(|| panic!("{what}: the redirect has a Location"));
    assert_eq!(
        location.as_str().split('?').next(),
        Some(redirect_uri),
        "{what}: the error goes to the request's redirect URI"
    );
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some(error),
        "{what}: error is {error}: {location}"
    );
    assert_eq!(
        query_param(&location, "iss").as_deref(),
        Some(harness.issuer()),
        "{what}: the error redirect carries iss equal to the issuer (RFC 9207 §2)"
    );
    assert_eq!(
        query_param(&location, "code"),
        None,
        "{what}: the error redirect carries no code"
    );
    location
}

/// Checks that a reply redirects `error` to `redirect_uri` with the request's
/// `state`, `iss` and no code, and returns the `Location`.
///
/// # Panics
///
/// Panics, naming `what`, on any difference.
#[track_caller]
pub fn assert_error_redirect(
    harness: &Harness,
    reply: &Reply,
    redirect_uri: &str,
    error: &str,
    state: &str,
    what: &str,
) -> Url {
    let location = assert_error_redirect_any_state(harness, reply, redirect_uri, error, what);
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state),
        "{what}: the error redirect carries the request's state"
    );
    location
}

/// Checks that a reply is the server's own HTML error page naming `error`,
/// with no `Location`, so nothing goes to the client's redirect URI.
///
/// # Panics
///
/// Panics, naming `what`, unless the reply is a 400 HTML page without
/// `Location` whose text contains `error`.
#[track_caller]
pub fn assert_error_page(reply: &Reply, error: &str, what: &str) {
    assert_eq!(
        reply.status,
        400,
        "{what}: the error page has status 400: {}",
        reply.describe()
    );
    assert!(
        reply.headers.get("location").is_none(),
        "{what}: the error page does not redirect: {}",
        reply.describe()
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/html")),
        "{what}: the error page is HTML: {}",
        reply.describe()
    );
    assert!(
        reply.text().contains(error),
        "{what}: the error page names {error}: {}",
        reply.text()
    );
}
