use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, CONTENT_TYPE, RETRY_AFTER,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use portcullis_grants::{AccessToken, ResourceId};
use portcullis_server_core::{AccountStore, AuthorizationServer, Clock, Store};

use crate::api::{Datasets, FixedWindow, RateLimiter};
use crate::consent::client_addr;
use crate::profile::{API_RESOURCE, MCP_RESOURCE};
use crate::session::CookiePolicy;
use crate::sign_in::SignInThrottle;

/// Largest request body any FLTR endpoint reads, in bytes; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Path of the authorization server metadata (RFC 8414 §3).
const SERVER_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
/// Path of the protected resource metadata of `/v1` (RFC 9728 §3.1).
const API_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/v1";
/// Path of the protected resource metadata of `/mcp` (RFC 9728 §3.1).
const MCP_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// The FLTR authorization server and sample API, independent of any HTTP framework.
///
/// [`FltrApp::handle`] takes a whole request and returns a whole response, so a
/// binding for any framework only converts types, enforces [`MAX_BODY_BYTES`]
/// and runs the connection.
pub struct FltrApp<S, C> {
    pub(crate) server: AuthorizationServer<S, C>,
    pub(crate) cookies: CookiePolicy,
    pub(crate) sign_ins: SignInThrottle,
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
            sign_ins: SignInThrottle::new(),
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
    ///
    /// A `HEAD` request is served as `GET` (RFC 9110 §9.3.2), body included:
    /// the HTTP server sends the headers with the body's `Content-Length` and
    /// leaves the body out, as HTTP/1.1 framing requires of hyper and actix-web.
    pub async fn handle(self: &Arc<Self>, request: Request<Bytes>) -> Response<Bytes> {
        let path = request.uri().path();
        if request.method() == Method::OPTIONS && has_preflight(path) {
            return preflight();
        }
        let method = match request.method() {
            &Method::HEAD => &Method::GET,
            method => method,
        };
        let mut response = match (method, path) {
            (&Method::GET, "/oauth/authorize") => self.authorize_get(&request).await,
            (&Method::POST, "/oauth/authorize") => self.authorize_post(&request).await,
            (_, "/oauth/authorize") => method_not_allowed("GET, HEAD, POST"),
            (_, "/oauth/token") => self.server.token(&request).await,
            (_, "/oauth/revoke") => self.server.revoke(&request).await,
            (_, "/oauth/introspect") => {
                self.server
                    .introspect_with(&request, self.server.store())
                    .await
            }
            (_, "/oauth/register") => self.register(&request).await,
            (&Method::GET, SERVER_METADATA_PATH) => self.server.metadata(),
            // No document at the root: RFC 9728 §3.3 ties a document to the
            // identifier its URL was built from, and neither resource is the root.
            (&Method::GET, API_METADATA_PATH) => {
                self.server.protected_resource_metadata(API_RESOURCE)
            }
            (&Method::GET, MCP_METADATA_PATH) => {
                self.server.protected_resource_metadata(MCP_RESOURCE)
            }
            (&Method::GET, "/") => home(&self.server.config().issuer),
            (_, SERVER_METADATA_PATH | API_METADATA_PATH | MCP_METADATA_PATH | "/") => {
                method_not_allowed("GET, HEAD")
            }
            (&Method::GET, "/v1/datasets") => self.datasets(&request).await,
            (_, "/v1/datasets") => method_not_allowed("GET, HEAD"),
            (&Method::POST, "/mcp") => self.mcp(&request).await,
            (_, "/mcp") => method_not_allowed("POST"),
            _ => not_found(),
        };
        if allows_any_origin(path) {
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        response
    }

    /// Serves dynamic registration, rate-limited per source address.
    async fn register(&self, request: &Request<Bytes>) -> Response<Bytes> {
        if request.method() == Method::POST {
            let addr = client_addr(request);
            let usage = self.registrations.hit(addr, self.server.now());
            if !usage.allowed {
                tracing::warn!(%addr, "dynamic registration rate limit reached");
                let mut response = json(
                    StatusCode::TOO_MANY_REQUESTS,
                    &serde_json::json!({"error": "slow_down", "error_description": "too many registrations from this address, retry later"}),
                );
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(usage.reset_in));
                return response;
            }
        }
        self.server.register(request).await
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

/// Returns whether responses on `path` allow any origin.
///
/// Every response under `/.well-known/` does, 404s included, so a browser
/// client probing for metadata reads the 404 instead of a CORS failure.
fn allows_any_origin(path: &str) -> bool {
    path.starts_with("/.well-known/")
        || matches!(path, "/oauth/token" | "/oauth/register" | "/oauth/revoke")
}

/// Returns whether `path` accepts CORS preflights, which only endpoints that
/// exist and allow any origin do.
fn has_preflight(path: &str) -> bool {
    matches!(
        path,
        SERVER_METADATA_PATH
            | API_METADATA_PATH
            | MCP_METADATA_PATH
            | "/oauth/token"
            | "/oauth/register"
            | "/oauth/revoke"
    )
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
        .insert(ALLOW, HeaderValue::from_static(allow));
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

#[cfg(test)]
mod tests {
    use portcullis_server_core::{ManualClock, MemoryStore};

    use super::*;
    use crate::config::build_app;

    async fn app() -> Arc<FltrApp<MemoryStore, ManualClock>> {
        let clock = ManualClock::new(1_800_000_000);
        let (app, _) = build_app(MemoryStore::new(), clock, "http://127.0.0.1:8080", None)
            .await
            .unwrap();
        app
    }

    async fn send(
        app: &Arc<FltrApp<MemoryStore, ManualClock>>,
        method: Method,
        path: &str,
    ) -> Response<Bytes> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Bytes::new())
            .unwrap();
        app.handle(request).await
    }

    #[tokio::test]
    async fn head_is_served_as_get() {
        let app = app().await;
        for path in [
            "/",
            SERVER_METADATA_PATH,
            API_METADATA_PATH,
            MCP_METADATA_PATH,
            "/v1/datasets",
            "/no/such/path",
        ] {
            let get = send(&app, Method::GET, path).await;
            let head = send(&app, Method::HEAD, path).await;
            assert_eq!(head.status(), get.status(), "HEAD {path}");
            assert_eq!(head.headers(), get.headers(), "HEAD {path}");
            assert_eq!(
                head.body(),
                get.body(),
                "HEAD {path} keeps the body, for the HTTP server's Content-Length"
            );
        }
    }

    #[tokio::test]
    async fn method_not_allowed_lists_head_with_get() {
        let app = app().await;
        for (method, path, allow) in [
            (Method::PUT, "/oauth/authorize", "GET, HEAD, POST"),
            (Method::POST, "/v1/datasets", "GET, HEAD"),
            (Method::POST, SERVER_METADATA_PATH, "GET, HEAD"),
            (Method::DELETE, API_METADATA_PATH, "GET, HEAD"),
            (Method::POST, "/", "GET, HEAD"),
            (Method::GET, "/mcp", "POST"),
        ] {
            let response = send(&app, method.clone(), path).await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(response.headers()[ALLOW], allow, "{method} {path}");
        }
    }

    #[tokio::test]
    async fn preflight_only_on_existing_endpoints() {
        let app = app().await;
        for path in [SERVER_METADATA_PATH, API_METADATA_PATH, "/oauth/token"] {
            let response = send(&app, Method::OPTIONS, path).await;
            assert_eq!(response.status(), StatusCode::NO_CONTENT, "OPTIONS {path}");
        }
        for path in [
            "/.well-known/oauth-protected-resource",
            "/.well-known/openid-configuration",
            "/.well-known/anything",
        ] {
            let response = send(&app, Method::OPTIONS, path).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "OPTIONS {path}");
            assert!(
                !response
                    .headers()
                    .contains_key(ACCESS_CONTROL_ALLOW_METHODS),
                "OPTIONS {path} is no preflight"
            );
        }
    }
}
