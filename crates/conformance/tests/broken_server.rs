//! Shows that the kit finds real faults. Each test serves the real FLTR app
//! behind a small hyper service that switches off one rule by rewriting a
//! request before `FltrApp::handle` or a response after it, runs the whole kit
//! against it, and asserts exactly which checks fail. The same service with no
//! rule switched off runs in the same test, to show that those checks pass
//! while the rule holds.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use base64ct::{Base64UrlUnpadded, Encoding};
use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE,
    LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use portcullis_conformance::Report;
use portcullis_fltr::{ClientAddr, FltrApp};
use portcullis_server_core::{ManualClock, MemoryStore, Store};
use sha2::{Digest, Sha256};
use support::{build_app, failed_ids, kit_config, passed_ids, run_kit};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use url::{Url, form_urlencoded};

/// The one rule a test server breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// No rule is broken: requests and responses pass through unchanged.
    None,
    /// `code_challenge_method=plain` is accepted although only S256 is
    /// advertised (OAuth 2.1 §4.1.1). The authorization request is rewritten
    /// to S256 with the SHA-256 of the plain challenge, so a verifier equal to
    /// the challenge redeems the code later.
    PlainPkce,
    /// Refresh tokens are not rotated (OAuth 2.1 §4.3.1). A successful refresh
    /// response carries the refresh token the client presented instead of the
    /// new one, and that first token keeps working because it is mapped to the
    /// latest real token of its grant.
    NoRotation,
    /// An authorization request whose redirect URI is not registered gets a
    /// 302 to that URI instead of the error page (RFC 6749 §4.1.2.1).
    OpenRedirect,
    /// Every protected resource metadata document names its resource with an
    /// added trailing slash, so `resource` no longer equals the identifier its
    /// URL was built from (RFC 9728 §3.3).
    ResourceTrailingSlash,
    /// Challenges send `resource_metadata` as a bare token instead of a
    /// quoted-string, which a URL cannot be (RFC 9110 §11.2).
    UnquotedResourceMetadata,
    /// `/mcp` serves any token that `/v1/datasets` accepts, so it takes tokens
    /// issued for another audience (MCP 2025-11-25 "Token Handling").
    CrossAudience,
    /// The authorization endpoint and its page allow any origin (CORS),
    /// which OAuth 2.1 §3.1 forbids.
    CorsOnAuthorize,
    /// A `state` whose bytes are not UTF-8 is rewritten, each such byte to
    /// `?`, as a server that decodes parameters to ASCII with a replacement
    /// character would, instead of being returned as received (RFC 6749 §4.1.2).
    RewrittenState,
    /// A loopback redirect URI whose port is above 65535 is taken as port
    /// 65535, so the login page is shown for a redirect URI no client can
    /// listen on (RFC 8252 §7.3).
    OutOfRangePort,
    /// Once one client is locked out at the token endpoint, every client gets
    /// 429 there, as from a throttle keyed only by source address (OAuth 2.1
    /// §2.4.1).
    LockoutForAll,
}

/// The FLTR app behind a service that breaks one rule.
struct FaultyApp {
    app: Arc<FltrApp<MemoryStore, ManualClock>>,
    fault: Fault,
    /// For [`Fault::NoRotation`]: the first refresh token of each grant, as
    /// the client keeps seeing it, mapped to the latest real refresh token.
    refresh_aliases: Mutex<HashMap<String, String>>,
    /// For [`Fault::LockoutForAll`]: whether the token endpoint has returned
    /// 429 to any client.
    locked_out: AtomicBool,
}

impl FaultyApp {
    /// Reads the whole request body and serves the request.
    async fn serve(&self, request: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(ClientAddr(peer.ip()));
        let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        };
        let response = self.handle(Request::from_parts(parts, body)).await;
        response.map(Full::new)
    }

    async fn handle(&self, request: Request<Bytes>) -> Response<Bytes> {
        match self.fault {
            Fault::None => self.app.handle(request).await,
            Fault::PlainPkce => self.app.handle(accept_plain_pkce(request)).await,
            Fault::NoRotation => self.keep_first_refresh_token(request).await,
            Fault::OpenRedirect => self.redirect_anywhere(request).await,
            Fault::ResourceTrailingSlash => {
                let is_metadata = request
                    .uri()
                    .path()
                    .starts_with("/.well-known/oauth-protected-resource");
                let response = self.app.handle(request).await;
                if is_metadata {
                    add_slash_to_resource(response)
                } else {
                    response
                }
            }
            Fault::UnquotedResourceMetadata => {
                unquote_resource_metadata(self.app.handle(request).await)
            }
            Fault::CrossAudience => self.serve_any_audience(request).await,
            Fault::CorsOnAuthorize => {
                let is_authorize = request.uri().path() == "/oauth/authorize";
                let mut response = self.app.handle(request).await;
                if is_authorize {
                    response
                        .headers_mut()
                        .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
                }
                response
            }
            Fault::RewrittenState => self.app.handle(rewrite_state(request)).await,
            Fault::OutOfRangePort => self.app.handle(clamp_redirect_port(request)).await,
            Fault::LockoutForAll => self.lock_out_everyone(request).await,
        }
    }

    /// Serves a request with [`Fault::LockoutForAll`]: after the first 429 at
    /// the token endpoint, every token request gets 429 `slow_down`.
    async fn lock_out_everyone(&self, request: Request<Bytes>) -> Response<Bytes> {
        let is_token = request.method() == Method::POST && request.uri().path() == "/oauth/token";
        if !is_token {
            return self.app.handle(request).await;
        }
        if self.locked_out.load(Ordering::SeqCst) {
            let body = br#"{"error":"slow_down","error_description":"too many failed attempts"}"#;
            let mut response = Response::new(Bytes::from_static(body));
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(RETRY_AFTER, HeaderValue::from_static("60"));
            return response;
        }
        let response = self.app.handle(request).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            self.locked_out.store(true, Ordering::SeqCst);
        }
        response
    }

    /// Serves a request with [`Fault::CrossAudience`]: a `POST /mcp` that the
    /// real app rejects gets a success response when its bearer token works
    /// at `GET /v1/datasets`.
    async fn serve_any_audience(&self, request: Request<Bytes>) -> Response<Bytes> {
        let is_mcp = request.method() == Method::POST && request.uri().path() == "/mcp";
        let authorization = request.headers().get(AUTHORIZATION).cloned();
        let response = self.app.handle(request).await;
        let (true, StatusCode::UNAUTHORIZED, Some(authorization)) =
            (is_mcp, response.status(), authorization)
        else {
            return response;
        };
        let mut probe = Request::new(Bytes::new());
        *probe.uri_mut() = Uri::from_static("/v1/datasets");
        probe.headers_mut().insert(AUTHORIZATION, authorization);
        if self.app.handle(probe).await.status() != StatusCode::OK {
            return response;
        }
        let body = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        let mut accepted = Response::new(Bytes::from_static(body));
        accepted
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        accepted
    }

    /// Serves a request with [`Fault::NoRotation`]: a refresh token the client
    /// presents at the token, revocation or introspection endpoint is replaced
    /// by the latest real token, and a refresh response returns the presented
    /// token instead of the new one.
    async fn keep_first_refresh_token(&self, mut request: Request<Bytes>) -> Response<Bytes> {
        let token_field = match request.uri().path() {
            "/oauth/token" => "refresh_token",
            "/oauth/revoke" | "/oauth/introspect" => "token",
            _ => return self.app.handle(request).await,
        };
        let mut pairs = form_pairs(request.body());
        let is_refresh = pairs
            .iter()
            .any(|(name, value)| name == "grant_type" && value == "refresh_token");
        let presented = pairs
            .iter()
            .find(|(name, _)| name == token_field)
            .map(|(_, value)| value.clone());
        let real = presented
            .as_ref()
            .and_then(|token| self.aliases().get(token).cloned());
        if let Some(real) = real {
            for (name, value) in &mut pairs {
                if name == token_field {
                    value.clone_from(&real);
                }
            }
            *request.body_mut() = Bytes::from(encode_form(&pairs));
        }

        let mut response = self.app.handle(request).await;
        let (Some(first), true, StatusCode::OK) = (presented, is_refresh, response.status()) else {
            return response;
        };
        let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(response.body())
        else {
            return response;
        };
        let Some(serde_json::Value::String(new)) = body.get("refresh_token").cloned() else {
            return response;
        };
        self.aliases().insert(first.clone(), new);
        body.insert("refresh_token".to_owned(), serde_json::Value::String(first));
        let json = serde_json::to_vec(&body).expect("a JSON object serializes");
        *response.body_mut() = Bytes::from(json);
        response.headers_mut().remove(CONTENT_LENGTH);
        response
    }

    fn aliases(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.refresh_aliases
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves a request with [`Fault::OpenRedirect`]: where the real app shows
    /// an error page for an authorization request of a known client whose one
    /// `redirect_uri` is not registered, it redirects there with
    /// `error=invalid_request`. Requests with a repeated `client_id` or
    /// `redirect_uri`, or an unknown client, still get the error page.
    async fn redirect_anywhere(&self, request: Request<Bytes>) -> Response<Bytes> {
        let unregistered =
            if request.method() == Method::GET && request.uri().path() == "/oauth/authorize" {
                self.unregistered_redirect(request.uri()).await
            } else {
                None
            };
        let response = self.app.handle(request).await;
        let is_error_page =
            response.status().is_client_error() && !response.headers().contains_key(LOCATION);
        match unregistered {
            Some(location) if is_error_page => found(&location),
            _ => response,
        }
    }

    /// Returns the error redirect for an authorization request whose client is
    /// known and whose single `redirect_uri` is not one of the client's.
    async fn unregistered_redirect(&self, uri: &Uri) -> Option<String> {
        let pairs = form_pairs(uri.query().unwrap_or_default().as_bytes());
        let client_id = single_value(&pairs, "client_id")?;
        let redirect_uri = single_value(&pairs, "redirect_uri")?;
        let client = self
            .app
            .server()
            .store()
            .client(client_id)
            .await
            .ok()
            .flatten()?;
        if client.redirect_uris.iter().any(|uri| uri == redirect_uri) {
            return None;
        }
        let mut location = Url::parse(redirect_uri).ok()?;
        location
            .query_pairs_mut()
            .append_pair("error", "invalid_request")
            .append_pair("error_description", "the redirect URI is not registered");
        if let Some(state) = single_value(&pairs, "state") {
            location.query_pairs_mut().append_pair("state", state);
        }
        Some(location.into())
    }
}

/// Rewrites an authorization request with `code_challenge_method=plain` into
/// S256 with the SHA-256 of the plain challenge, for [`Fault::PlainPkce`].
fn accept_plain_pkce(mut request: Request<Bytes>) -> Request<Bytes> {
    if request.uri().path() != "/oauth/authorize" {
        return request;
    }
    let mut pairs = form_pairs(request.uri().query().unwrap_or_default().as_bytes());
    let plain = pairs
        .iter()
        .any(|(name, value)| name == "code_challenge_method" && value == "plain");
    if !plain {
        return request;
    }
    for (name, value) in &mut pairs {
        match name.as_str() {
            "code_challenge" => *value = Base64UrlUnpadded::encode_string(&Sha256::digest(&value)),
            "code_challenge_method" => *value = String::from("S256"),
            _ => {}
        }
    }
    let uri = format!("{}?{}", request.uri().path(), encode_form(&pairs));
    *request.uri_mut() = uri.parse().expect("a re-encoded query forms a valid URI");
    request
}

/// Rewrites the `state` of an authorization request for
/// [`Fault::RewrittenState`]: each byte sequence that is not UTF-8 becomes `?`.
fn rewrite_state(request: Request<Bytes>) -> Request<Bytes> {
    rewrite_authorize_query(request, |name, value| {
        if name == "state" && value.contains(char::REPLACEMENT_CHARACTER) {
            *value = value.replace(char::REPLACEMENT_CHARACTER, "?");
        }
    })
}

/// Rewrites the `redirect_uri` of an authorization request for
/// [`Fault::OutOfRangePort`]: a port above 65535 becomes 65535.
fn clamp_redirect_port(request: Request<Bytes>) -> Request<Bytes> {
    rewrite_authorize_query(request, |name, value| {
        if name != "redirect_uri" {
            return;
        }
        let Some(start) = value.find("://").map(|i| i + 3) else {
            return;
        };
        let authority_end = value[start..]
            .find(['/', '?', '#'])
            .map_or(value.len(), |i| start + i);
        let Some(colon) = value[start..authority_end].rfind(':').map(|i| start + i) else {
            return;
        };
        let too_large = value[colon + 1..authority_end]
            .parse::<u64>()
            .is_ok_and(|port| port > u64::from(u16::MAX));
        if too_large {
            value.replace_range(colon + 1..authority_end, "65535");
        }
    })
}

/// Decodes the query of a `GET /oauth/authorize`, replacing bytes that are not
/// UTF-8 with U+FFFD, lets `change` edit each value, and encodes it again.
/// Other requests pass unchanged.
fn rewrite_authorize_query(
    mut request: Request<Bytes>,
    change: impl Fn(&str, &mut String),
) -> Request<Bytes> {
    if request.method() != Method::GET || request.uri().path() != "/oauth/authorize" {
        return request;
    }
    let mut pairs = form_pairs(request.uri().query().unwrap_or_default().as_bytes());
    for (name, value) in &mut pairs {
        change(name, value);
    }
    let uri = format!("{}?{}", request.uri().path(), encode_form(&pairs));
    *request.uri_mut() = uri.parse().expect("a re-encoded query forms a valid URI");
    request
}

fn form_pairs(encoded: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded).into_owned().collect()
}

fn encode_form(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Returns the value of a parameter that appears exactly once.
fn single_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut values = pairs.iter().filter(|(n, _)| n == name);
    match (values.next(), values.next()) {
        (Some((_, value)), None) => Some(value),
        _ => None,
    }
}

/// Appends a slash to the `resource` member of a JSON metadata response, for
/// [`Fault::ResourceTrailingSlash`].
fn add_slash_to_resource(mut response: Response<Bytes>) -> Response<Bytes> {
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(response.body()) else {
        return response;
    };
    let Some(serde_json::Value::String(resource)) = body.get("resource").cloned() else {
        return response;
    };
    body.insert(
        "resource".to_owned(),
        serde_json::Value::String(format!("{resource}/")),
    );
    let json = serde_json::to_vec(&body).expect("a JSON object serializes");
    *response.body_mut() = Bytes::from(json);
    response.headers_mut().remove(CONTENT_LENGTH);
    response
}

/// Removes the quotes around the `resource_metadata` value of a challenge, for
/// [`Fault::UnquotedResourceMetadata`]. The URL contains no quote or
/// backslash, so no escape needs undoing.
fn unquote_resource_metadata(mut response: Response<Bytes>) -> Response<Bytes> {
    let Some(challenge) = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
    else {
        return response;
    };
    const QUOTED: &str = "resource_metadata=\"";
    let Some(start) = challenge.find(QUOTED) else {
        return response;
    };
    let value_start = start + QUOTED.len();
    let Some(length) = challenge[value_start..].find('"') else {
        return response;
    };
    let unquoted = format!(
        "{}resource_metadata={}{}",
        &challenge[..start],
        &challenge[value_start..value_start + length],
        &challenge[value_start + length + 1..]
    );
    let value = HeaderValue::from_str(&unquoted).expect("the challenge stays a valid header value");
    response.headers_mut().insert(WWW_AUTHENTICATE, value);
    response
}

fn found(location: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::FOUND;
    let headers = response.headers_mut();
    headers.insert(
        LOCATION,
        HeaderValue::from_str(location).expect("a serialized URL is a valid header value"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A [`FaultyApp`] serving on `127.0.0.1`. Dropping it stops accepting connections.
struct FaultyServer {
    issuer: String,
    task: JoinHandle<()>,
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the FLTR app with `fault` on an ephemeral port of `127.0.0.1`.
async fn start(fault: Fault) -> FaultyServer {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0 succeeds");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let issuer = format!("http://{addr}");
    let faulty = Arc::new(FaultyApp {
        app: build_app(&issuer).await,
        fault,
        refresh_aliases: Mutex::default(),
        locked_out: AtomicBool::new(false),
    });
    let task = tokio::spawn(accept_connections(faulty, listener));
    FaultyServer { issuer, task }
}

async fn accept_connections(faulty: Arc<FaultyApp>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                eprintln!("the test server stopped: accepting a connection failed: {error}");
                return;
            }
        };
        let faulty = Arc::clone(&faulty);
        let service = service_fn(move |request: Request<Incoming>| {
            let faulty = Arc::clone(&faulty);
            async move { Ok::<_, Infallible>(faulty.serve(request, peer).await) }
        });
        tokio::spawn(async move {
            let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                eprintln!("a test server connection from {peer} failed: {error}");
            }
        });
    }
}

/// Runs the whole kit against the app with no fault and with `fault`, and
/// asserts that exactly the `expected` checks fail with the fault and that
/// they pass without it.
async fn assert_fault_found(fault: Fault, expected: &[&str]) {
    let expected: BTreeSet<String> = expected.iter().map(|id| (*id).to_owned()).collect();

    let sound = start(Fault::None).await;
    let sound_report = run_kit(kit_config(&sound.issuer)).await;
    print_report("without a fault", &sound_report);
    let broken = start(fault).await;
    let broken_report = run_kit(kit_config(&broken.issuer)).await;
    print_report(&format!("with {fault:?}"), &broken_report);

    let sound_failed = failed_ids(&sound_report);
    assert!(
        sound_failed.is_empty(),
        "checks failed without a fault: {sound_failed:?}"
    );
    let sound_passed = passed_ids(&sound_report);
    let not_passed: BTreeSet<&String> = expected.difference(&sound_passed).collect();
    assert!(
        not_passed.is_empty(),
        "checks expected to find {fault:?} did not pass without it: {not_passed:?}"
    );
    assert_eq!(
        failed_ids(&broken_report),
        expected,
        "the checks that failed with {fault:?} (left) differ from the expected ones (right)"
    );
}

fn print_report(label: &str, report: &Report) {
    println!("{label}:\n{}", report.to_table());
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_pkce_is_found() {
    assert_fault_found(Fault::PlainPkce, &["pkce.plain-rejected"]).await;
}

/// `refresh.rotates` fails. `refresh.reuse-rejected` and
/// `refresh.reuse-revokes-grant` build on rotation, so they skip rather than
/// repeat the verdict.
#[tokio::test(flavor = "multi_thread")]
async fn missing_refresh_rotation_is_found() {
    assert_fault_found(Fault::NoRotation, &["refresh.rotates"]).await;
}

/// Every check that sends a redirect URI the client did not register fails:
/// the check with a foreign host, and the checks with variants of the
/// registered URI that exact string comparison must reject (RFC 9700 §4.1.3,
/// RFC 8252 §7.3).
#[tokio::test(flavor = "multi_thread")]
async fn open_redirect_is_found() {
    assert_fault_found(
        Fault::OpenRedirect,
        &[
            "authorize.loopback-host-exact",
            "authorize.redirect-uri-extra-query",
            "authorize.redirect-uri-fragment",
            "authorize.redirect-uri-host-case",
            "authorize.redirect-uri-path-suffix",
            "authorize.redirect-uri-trailing-slash",
            "authorize.unregistered-redirect-error-page",
        ],
    )
    .await;
}

/// The resource metadata checks compare `resource` with the identifier the
/// metadata URL was built from. The resource indicator checks send the
/// metadata's `resource` too, but the server maps the added slash to the same
/// resource (MCP 2025-11-25 "Canonical Server URI"), so they still pass.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_metadata_resource_is_found() {
    assert_fault_found(
        Fault::ResourceTrailingSlash,
        &[
            "resource-metadata.resource-matches",
            "resource-metadata.well-known-location",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unquoted_resource_metadata_is_found() {
    assert_fault_found(
        Fault::UnquotedResourceMetadata,
        &["resource-metadata.challenge-link"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_audience_check_is_found() {
    assert_fault_found(
        Fault::CrossAudience,
        &["resource-indicator.audience-restricted"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_on_authorization_endpoint_is_found() {
    assert_fault_found(Fault::CorsOnAuthorize, &["authorize.no-cors"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rewritten_state_is_found() {
    assert_fault_found(Fault::RewrittenState, &["authorize.state-not-utf8"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_range_port_is_found() {
    assert_fault_found(
        Fault::OutOfRangePort,
        &["authorize.loopback-port-out-of-range"],
    )
    .await;
}

/// `client-auth.brute-force-throttled` still passes, because the test client
/// is throttled; only the client that did nothing wrong shows the fault.
#[tokio::test(flavor = "multi_thread")]
async fn lockout_of_every_client_is_found() {
    assert_fault_found(
        Fault::LockoutForAll,
        &["client-auth.lockout-spares-other-clients"],
    )
    .await;
}
