use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, CONTENT_TYPE, LOCATION, SET_COOKIE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_grants::{AccessToken, ClientOrigin, Params, ResourceId, SecretHash, UserId};
use portcullis_server_core::{
    AccountStore, AuthorizationFailure, AuthorizationServer, ClientAddr, Clock,
    PendingAuthorization, Session, Store, StoreError, generate_secret,
};

use crate::api::{Datasets, FixedWindow, RateLimiter};
use crate::pages::{self, ConsentPage};
use crate::passwords::{decoy_hash, verify_password};
use crate::profile::{API_RESOURCE, MCP_RESOURCE};
use crate::session::{CookiePolicy, PENDING_LIFETIME, SESSION_LIFETIME, csrf_matches, csrf_token};

/// Largest request body any FLTR endpoint reads, in bytes; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The FLTR authorization server and sample API, independent of any HTTP framework.
///
/// [`FltrApp::handle`] takes a whole request and returns a whole response, so a
/// binding for any framework only converts types, enforces [`MAX_BODY_BYTES`]
/// and runs the connection.
pub struct FltrApp<S, C> {
    server: AuthorizationServer<S, C>,
    cookies: CookiePolicy,
    datasets: Datasets,
    rate_limiter: RateLimiter,
    registrations: FixedWindow<IpAddr>,
}

/// Policy of the FLTR app beyond the authorization server's own configuration.
#[derive(Clone, Copy, Debug)]
pub struct AppOptions {
    /// Dynamic registrations one source address may make per minute (RFC 7591
    /// leaves open registration to the server's abuse protection).
    pub registrations_per_minute: u32,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            registrations_per_minute: 20,
        }
    }
}

/// A store usable by the FLTR app: tokens and accounts in one place.
pub trait FltrStore: Store + AccountStore + 'static {}

impl<T: Store + AccountStore + 'static> FltrStore for T {}

impl<S: FltrStore, C: Clock> FltrApp<S, C> {
    /// Creates the app over an authorization server.
    pub fn new(server: AuthorizationServer<S, C>, options: AppOptions) -> Self {
        let cookies = CookiePolicy::for_issuer(&server.config().issuer);
        let registrations = u64::from(options.registrations_per_minute);
        Self {
            server,
            cookies,
            datasets: Datasets::new(),
            rate_limiter: RateLimiter::new(),
            registrations: FixedWindow::with_limit(registrations, 60),
        }
    }

    /// Returns the authorization server.
    pub fn server(&self) -> &AuthorizationServer<S, C> {
        &self.server
    }

    /// Serves one request.
    ///
    /// Metadata, token, registration and revocation answers allow any origin
    /// (CORS), for browser-based MCP clients; the authorization endpoint and its
    /// page never do (RFC 9700 §2.6).
    pub async fn handle(self: &Arc<Self>, request: Request<Bytes>) -> Response<Bytes> {
        let path = request.uri().path();
        let cors = is_cors_endpoint(path);
        if cors && request.method() == Method::OPTIONS {
            return preflight();
        }
        let mut response = match (request.method(), path) {
            (&Method::GET, "/oauth/authorize") => self.authorize_get(&request).await,
            (&Method::POST, "/oauth/authorize") => self.authorize_post(&request).await,
            (_, "/oauth/authorize") => method_not_allowed("GET, POST"),
            (_, "/oauth/token") => self.server.token(&request).await,
            (_, "/oauth/revoke") => self.server.revoke(&request).await,
            (_, "/oauth/introspect") => {
                self.server
                    .introspect_with(&request, self.server.store())
                    .await
            }
            (_, "/oauth/register") => self.register(&request).await,
            (&Method::GET, "/.well-known/oauth-authorization-server") => self.server.metadata(),
            // No document at the root: RFC 9728 §3.3 ties a document to the
            // identifier its URL was built from, and neither resource is the root.
            (&Method::GET, "/.well-known/oauth-protected-resource/v1") => {
                self.server.protected_resource_metadata(API_RESOURCE)
            }
            (&Method::GET, "/.well-known/oauth-protected-resource/mcp") => {
                self.server.protected_resource_metadata(MCP_RESOURCE)
            }
            (&Method::GET, "/v1/datasets") => self.datasets(&request).await,
            (_, "/v1/datasets") => method_not_allowed("GET"),
            (&Method::POST, "/mcp") => self.mcp(&request).await,
            (_, "/mcp") => method_not_allowed("POST"),
            (&Method::GET, "/") => home(&self.server.config().issuer),
            _ => not_found(),
        };
        if cors {
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        response
    }

    /// Serves dynamic registration, rate-limited per source address.
    async fn register(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if request.method() == Method::POST {
            let addr = request
                .extensions()
                .get::<ClientAddr>()
                .map_or(IpAddr::from([0, 0, 0, 0]), |addr| addr.0);
            let usage = self.registrations.hit(addr, self.server.now());
            if !usage.allowed {
                tracing::warn!(%addr, "dynamic registration rate limit reached");
                let mut response = json(
                    StatusCode::TOO_MANY_REQUESTS,
                    &serde_json::json!({"error": "slow_down", "error_description": "too many registrations from this address, retry later"}),
                );
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, HeaderValue::from(usage.reset_in));
                return response;
            }
        }
        self.server.register(request).await
    }

    async fn authorize_get(&self, request: &Request<Bytes>) -> Response<Bytes> {
        let query = request.uri().query().unwrap_or("").as_bytes();
        let session = match self.current_session(request).await {
            Ok(session) => session,
            Err(error) => return self.store_error_page(&error),
        };
        let user = session.as_ref().and_then(|(_, session)| session.user);
        let prompt = match self.server.authorize(query, user).await {
            Ok(prompt) => prompt,
            Err(failure) => return self.failure_response(failure, StatusCode::FOUND),
        };
        let now = self.server.now();
        let (session_id, new_cookie) = match session {
            Some((id, _)) => (id, None),
            None => match self.new_session(None).await {
                Ok(id) => (id.clone(), Some(id)),
                Err(response) => return response,
            },
        };
        let request_id = match generate_secret() {
            Ok(id) => id,
            Err(error) => return self.page_error(&error),
        };
        let pending = PendingAuthorization {
            request: prompt.request,
            session: SecretHash::of(&session_id),
            expires_at: now.plus(PENDING_LIFETIME),
        };
        let redirect_uri = pending.request.redirect.uri.clone();
        let scope = pending.request.scope;
        if let Err(error) = self
            .server
            .store()
            .insert_pending(SecretHash::of(&request_id), pending)
            .await
        {
            return self.store_error_page(&error);
        }
        let username = match user {
            Some(id) => self.username(id).await,
            None => None,
        };
        let csrf = csrf_token(&session_id, &request_id);
        let page = ConsentPage {
            client: &prompt.client,
            redirect_uri: &redirect_uri,
            catalog: &self.server.config().catalog,
            scope,
            username: username.as_deref(),
            request_id: &request_id,
            csrf: &csrf,
            notice: None,
        };
        let mut response = pages::consent(&page, StatusCode::OK);
        if let Some(id) = new_cookie {
            self.set_cookie(&mut response, &id);
        }
        response
    }

    async fn authorize_post(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if !is_form(request) {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form must be application/x-www-form-urlencoded",
            );
        }
        let Ok(form) = Params::parse(request.body()) else {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form is too large",
            );
        };
        let field = |name| form.get(name).ok().flatten();
        let (Some(request_id), Some(csrf)) = (field("request_id"), field("csrf")) else {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the form is missing request_id or csrf",
            );
        };
        let session = match self.current_session(request).await {
            Ok(session) => session,
            Err(error) => return self.store_error_page(&error),
        };
        let Some((session_id, session)) = session else {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the sign-in session expired; start again from the application",
            );
        };
        let now = self.server.now();
        let request_hash = SecretHash::of(request_id);
        let pending = match self.server.store().pending(request_hash, now).await {
            Ok(Some(pending)) => pending,
            Ok(None) => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the authorization request expired or was already answered",
                );
            }
            Err(error) => return self.store_error_page(&error),
        };
        if pending.session != SecretHash::of(&session_id)
            || !csrf_matches(&session_id, request_id, csrf)
        {
            tracing::warn!(client_id = %pending.request.client_id, "consent form failed the CSRF check");
            return pages::error(
                StatusCode::FORBIDDEN,
                "invalid_request",
                "the form failed the CSRF check; start again from the application",
            );
        }
        let client = match self.server.store().client(&pending.request.client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_client",
                    "the client no longer exists",
                );
            }
            Err(error) => return self.store_error_page(&error),
        };
        let approve = match field("decision") {
            Some("approve") => true,
            Some("deny") => false,
            _ => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "decision must be approve or deny",
                );
            }
        };

        let mut new_session = None;
        let user = match session.user {
            Some(user) => user,
            None if !approve => {
                // Denying before sign-in: a dynamically registered client is not
                // trusted with a redirect yet (RFC 9700 §4.11.2).
                if client.origin == ClientOrigin::Dynamic {
                    let _ = self.server.store().take_pending(request_hash, now).await;
                    return pages::denied();
                }
                return self.finish(request_hash, None, false).await;
            }
            None => {
                let username = field("username").unwrap_or("");
                let password = field("password").unwrap_or("");
                match self.sign_in(username, password).await {
                    Ok(Some(user)) => {
                        // A new session id on sign-in prevents session fixation.
                        let _ = self
                            .server
                            .store()
                            .delete_session(SecretHash::of(&session_id))
                            .await;
                        match self.new_session(Some(user)).await {
                            Ok(id) => new_session = Some(id),
                            Err(response) => return response,
                        }
                        user
                    }
                    Ok(None) => {
                        tracing::debug!(client_id = %client.id, "sign-in failed");
                        let page = ConsentPage {
                            client: &client,
                            redirect_uri: &pending.request.redirect.uri,
                            catalog: &self.server.config().catalog,
                            scope: pending.request.scope,
                            username: None,
                            request_id,
                            csrf,
                            notice: Some("The username or password is wrong."),
                        };
                        return pages::consent(&page, StatusCode::UNAUTHORIZED);
                    }
                    Err(response) => return response,
                }
            }
        };
        let mut response = self.finish(request_hash, Some(user), approve).await;
        if let Some(id) = new_session {
            self.set_cookie(&mut response, &id);
        }
        response
    }

    /// Takes the pending request and answers it with a code or `access_denied`.
    async fn finish(
        &self,
        request_hash: SecretHash,
        user: Option<UserId>,
        approve: bool,
    ) -> Response<Bytes> {
        let now = self.server.now();
        let pending = match self.server.store().take_pending(request_hash, now).await {
            Ok(Some(pending)) => pending,
            Ok(None) => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the authorization request expired or was already answered",
                );
            }
            Err(error) => return self.store_error_page(&error),
        };
        let request = pending.request;
        let outcome = match (approve, user) {
            (true, Some(user)) => {
                let scope = request.scope;
                self.server.approve(request, user, scope).await
            }
            _ => Err(self.server.deny(&request)),
        };
        match outcome {
            Ok(location) => redirect(StatusCode::SEE_OTHER, &location),
            Err(failure) => self.failure_response(failure, StatusCode::SEE_OTHER),
        }
    }

    async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<UserId>, Response<Bytes>> {
        let user = match self.server.store().user_by_name(username).await {
            Ok(user) => user,
            Err(error) => return Err(self.store_error_page(&error)),
        };
        let hash = user.as_ref().map_or_else(
            || decoy_hash().to_owned(),
            |user| user.password_hash.clone(),
        );
        let password = password.to_owned();
        // Argon2 takes tens of milliseconds of CPU: keep it off the async workers.
        let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        Ok(user.filter(|_| verified).map(|user| user.id))
    }

    /// Returns the session id and session of the request's cookie, or `None`
    /// when there is no cookie or its session is unknown or expired.
    async fn current_session(
        &self,
        request: &Request<Bytes>,
    ) -> Result<Option<(String, Session)>, StoreError> {
        let Some(id) = self.cookies.read(request.headers()) else {
            return Ok(None);
        };
        let session = self
            .server
            .store()
            .session(SecretHash::of(id), self.server.now())
            .await?;
        Ok(session.map(|session| (id.to_owned(), session)))
    }

    async fn new_session(&self, user: Option<UserId>) -> Result<String, Response<Bytes>> {
        let id = generate_secret().map_err(|error| self.page_error(&error))?;
        let now = self.server.now();
        let session = Session {
            user,
            created_at: now,
            expires_at: now.plus(SESSION_LIFETIME),
        };
        match self
            .server
            .store()
            .insert_session(SecretHash::of(&id), session)
            .await
        {
            Ok(()) => Ok(id),
            Err(error) => Err(self.store_error_page(&error)),
        }
    }

    async fn username(&self, id: UserId) -> Option<String> {
        self.server
            .store()
            .user(id)
            .await
            .ok()
            .flatten()
            .map(|user| user.username)
    }

    fn set_cookie(&self, response: &mut Response<Bytes>, session_id: &str) {
        if let Ok(value) = HeaderValue::from_str(&self.cookies.set(session_id)) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }

    fn failure_response(
        &self,
        failure: AuthorizationFailure,
        redirect_status: StatusCode,
    ) -> Response<Bytes> {
        match failure {
            AuthorizationFailure::ErrorPage(error) => self.page_error(&error),
            AuthorizationFailure::Redirect { location, .. } => redirect(redirect_status, &location),
        }
    }

    fn page_error(&self, error: &OAuthError) -> Response<Bytes> {
        let status = match error.code() {
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        pages::error(status, error.code().as_str(), error.description())
    }

    fn store_error_page(&self, error: &StoreError) -> Response<Bytes> {
        tracing::warn!(%error, "storage failed while serving the consent page");
        self.page_error(&portcullis_server_core::store_failure(error))
    }

    /// Checks the bearer token of a request to one of the sample resources.
    async fn bearer(
        &self,
        request: &Request<Bytes>,
        resource: ResourceId,
        scope: &str,
    ) -> Result<AccessToken, Response<Bytes>> {
        let required = self
            .server
            .config()
            .catalog
            .lookup(scope)
            .unwrap_or_default();
        match self
            .server
            .authenticate_bearer(request.headers(), resource, required)
            .await
        {
            Ok(token) => Ok(token),
            Err(error) => {
                let metadata = self
                    .server
                    .resource_metadata_url(resource)
                    .unwrap_or_default();
                Err(self
                    .server
                    .bearer_error_response(&error, required, &metadata))
            }
        }
    }

    /// Serves the sample MCP endpoint: it only proves that a token for `/mcp`
    /// works there and a token for `/v1` does not.
    async fn mcp(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if let Err(response) = self.bearer(request, MCP_RESOURCE, "mcp:query").await {
            return response;
        }
        let id = serde_json::from_slice::<serde_json::Value>(request.body())
            .ok()
            .and_then(|value| value.get("id").cloned())
            .unwrap_or(serde_json::Value::Null);
        let server_info = serde_json::json!({
            "name": "portcullis FLTR example",
            "version": env!("CARGO_PKG_VERSION"),
        });
        json(
            StatusCode::OK,
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {"serverInfo": server_info}}),
        )
    }

    async fn datasets(&self, request: &Request<Bytes>) -> Response<Bytes> {
        let token = match self.bearer(request, API_RESOURCE, "datasets:read").await {
            Ok(token) => token,
            Err(response) => return response,
        };
        let usage = self.rate_limiter.hit(token.grant, self.server.now());
        let mut response = if usage.allowed {
            json(StatusCode::OK, &self.datasets.list(token.user))
        } else {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({"error": "rate_limited", "error_description": "the hourly request limit of this authorization is used up"}),
            );
            if let Ok(value) = HeaderValue::from_str(&usage.reset_in.to_string()) {
                response.headers_mut().insert("retry-after", value);
            }
            response
        };
        usage.write_headers(response.headers_mut());
        response
    }
}

/// Returns the RFC 9728 metadata URL of the `/v1` API: the well-known path goes
/// between the host and the resource path (RFC 9728 §3.1).
pub fn resource_metadata_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/oauth-protected-resource{}",
        issuer.trim_end_matches('/'),
        crate::profile::API_PATH
    )
}

fn is_cors_endpoint(path: &str) -> bool {
    path.starts_with("/.well-known/")
        || matches!(path, "/oauth/token" | "/oauth/register" | "/oauth/revoke")
}

/// Answers a CORS preflight (the Fetch standard's CORS protocol).
fn preflight() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

fn is_form(request: &Request<Bytes>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn redirect(status: StatusCode, location: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
            response.headers_mut().insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(_) => pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the redirect URI cannot be sent",
        ),
    }
}

pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Bytes> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn method_not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = json(
        StatusCode::METHOD_NOT_ALLOWED,
        &serde_json::json!({"error": "invalid_request", "error_description": "the method is not allowed on this endpoint"}),
    );
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn not_found() -> Response<Bytes> {
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({"error": "not_found", "error_description": "no such endpoint"}),
    )
}

fn home(issuer: &str) -> Response<Bytes> {
    json(
        StatusCode::OK,
        &serde_json::json!({
            "service": "portcullis FLTR example",
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
        }),
    )
}
