//! Authorization server metadata (RFC 8414) and CORS for browser-based clients.

use reqwest::Method;
use serde_json::Value;

use crate::fixture::{ALL_SCOPES, GUIDE_SCOPE, WEB_APP};
use crate::oauth::{authorization_query, random_state};
use crate::pkce::Pkce;
use crate::{Harness, Reply};

/// Path of the authorization server metadata of an issuer without a path (RFC 8414 §3).
pub(crate) const SERVER_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The origin of the MCP Inspector, a browser-based MCP client.
const BROWSER_ORIGIN: &str = "http://localhost:6274";

/// Fetches the authorization server metadata and checks that it is a 200 JSON object.
pub(crate) async fn server_metadata(harness: &Harness) -> Value {
    let reply = harness.http().get(SERVER_METADATA_PATH, &[]).await;
    assert_eq!(
        reply.status,
        200,
        "GET {SERVER_METADATA_PATH} succeeds: {}",
        reply.describe()
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with("application/json")),
        "the metadata is application/json: {}",
        reply.describe()
    );
    let document = reply.json();
    assert!(
        document.is_object(),
        "the metadata is a JSON object: {document}"
    );
    document
}

/// Returns the strings of the JSON array `field`, failing when it is not one.
#[track_caller]
pub(crate) fn string_list<'a>(document: &'a Value, field: &str) -> Vec<&'a str> {
    document
        .get(field)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{field} is a JSON array: {document}"))
        .iter()
        .map(|item| {
            item.as_str()
                .unwrap_or_else(|| panic!("{field} holds strings only: {document}"))
        })
        .collect()
}

/// Lists the paths of every empty array in `value`, such as `/scopes_supported`.
pub(crate) fn empty_arrays(value: &Value, path: &str) -> Vec<String> {
    match value {
        Value::Array(items) if items.is_empty() => vec![path.to_owned()],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(index, item)| empty_arrays(item, &format!("{path}/{index}")))
            .collect(),
        Value::Object(members) => members
            .iter()
            .flat_map(|(name, member)| empty_arrays(member, &format!("{path}/{name}")))
            .collect(),
        _ => Vec::new(),
    }
}

/// The metadata names the issuer byte for byte and puts every endpoint under
/// it (RFC 8414 §2, §3.3). It advertises exactly what the server supports:
/// the code flow with `S256` PKCE, refresh tokens, the three client
/// authentication methods, the seven FLTR scopes and `iss` in authorization
/// responses (RFC 9207 §3). No list is sent empty, and each advertised
/// endpoint exists.
pub async fn server_metadata_lists_capabilities(harness: &Harness) {
    let document = server_metadata(harness).await;
    let issuer = harness.issuer();
    assert_eq!(
        document.get("issuer").and_then(Value::as_str),
        Some(issuer),
        "issuer equals the issuer the well-known URL was built from, byte for byte (RFC 8414 §3.3)"
    );
    let parsed = url::Url::parse(issuer).expect("the harness issuer is a URL");
    assert_eq!(
        parsed.query(),
        None,
        "the issuer has no query (RFC 8414 §2)"
    );
    assert_eq!(
        parsed.fragment(),
        None,
        "the issuer has no fragment (RFC 8414 §2)"
    );

    let endpoints = [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("registration_endpoint", "/oauth/register"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
    ];
    for (field, path) in endpoints {
        assert_eq!(
            document.get(field).and_then(Value::as_str),
            Some(format!("{issuer}{path}").as_str()),
            "{field} is the issuer followed by {path}: {document}"
        );
    }

    assert_eq!(
        string_list(&document, "response_types_supported"),
        ["code"],
        "response_types_supported is exactly [\"code\"]"
    );
    let grant_types = string_list(&document, "grant_types_supported");
    for grant in ["authorization_code", "refresh_token"] {
        assert!(
            grant_types.contains(&grant),
            "grant_types_supported lists {grant}: {grant_types:?}"
        );
    }
    for grant in ["implicit", "password"] {
        assert!(
            !grant_types.contains(&grant),
            "grant_types_supported does not list {grant}: {grant_types:?}"
        );
    }
    assert_eq!(
        string_list(&document, "code_challenge_methods_supported"),
        ["S256"],
        "code_challenge_methods_supported is exactly [\"S256\"]: plain is not accepted"
    );
    let auth_methods = string_list(&document, "token_endpoint_auth_methods_supported");
    for method in ["none", "client_secret_post", "client_secret_basic"] {
        assert!(
            auth_methods.contains(&method),
            "token_endpoint_auth_methods_supported lists {method}: {auth_methods:?}"
        );
    }
    let mut scopes = string_list(&document, "scopes_supported");
    scopes.sort_unstable();
    let mut expected = ALL_SCOPES.to_vec();
    expected.sort_unstable();
    assert_eq!(
        scopes, expected,
        "scopes_supported lists the seven FLTR scopes and nothing else"
    );
    assert_eq!(
        document.get("authorization_response_iss_parameter_supported"),
        Some(&Value::Bool(true)),
        "authorization_response_iss_parameter_supported is true, since every redirect carries iss (RFC 9207 §3)"
    );
    assert_eq!(
        empty_arrays(&document, ""),
        Vec::<String>::new(),
        "no list in the metadata is empty; empty ones are left out"
    );

    assert_endpoints_exist(harness, &document).await;
}

/// Sends a request without parameters to each advertised endpoint and checks
/// that it is routed: a client error about the request, never 404 or 5xx.
async fn assert_endpoints_exist(harness: &Harness, document: &Value) {
    let http = harness.http();
    let path_of = |field: &str| {
        let url = document
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the metadata has {field}"));
        url.strip_prefix(harness.base_url())
            .unwrap_or_else(|| panic!("{field} {url} is on the server under test"))
            .to_owned()
    };
    let authorize = http.get(&path_of("authorization_endpoint"), &[]).await;
    let token = http.post_form(&path_of("token_endpoint"), "", &[]).await;
    let revoke = http
        .post_form(&path_of("revocation_endpoint"), "", &[])
        .await;
    let introspect = http
        .post_form(&path_of("introspection_endpoint"), "", &[])
        .await;
    let register = http
        .send(
            Method::POST,
            &path_of("registration_endpoint"),
            &[("content-type", "application/json")],
            Some(b"{}".to_vec()),
        )
        .await;
    for (field, reply) in [
        ("authorization_endpoint", authorize),
        ("token_endpoint", token),
        ("revocation_endpoint", revoke),
        ("introspection_endpoint", introspect),
        ("registration_endpoint", register),
    ] {
        assert!(
            matches!(reply.status.as_u16(), 400 | 401),
            "{field} responds to an empty request with 400 or 401, so it is routed: {}",
            reply.describe()
        );
    }
}

/// Checks that `reply` allows a cross-origin request from [`BROWSER_ORIGIN`].
#[track_caller]
fn assert_cors_allowed(reply: &Reply, what: &str) {
    let allowed = reply
        .header("access-control-allow-origin")
        .unwrap_or_else(|| {
            panic!(
                "{what}: the reply carries Access-Control-Allow-Origin: {:?}",
                reply.headers
            )
        });
    assert!(
        allowed == "*" || allowed == BROWSER_ORIGIN,
        "{what}: Access-Control-Allow-Origin is * or the request's origin, got {allowed:?}"
    );
}

/// Checks that `reply` carries no CORS permission at all.
#[track_caller]
fn assert_cors_absent(reply: &Reply, what: &str) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-allow-credentials",
    ] {
        assert!(
            reply.headers.get(name).is_none(),
            "{what}: the reply carries no {name}: {:?}",
            reply.headers
        );
    }
}

/// Returns `true` when the comma-separated header `name` lists `item`, ignoring case, or `*`.
fn header_lists(reply: &Reply, name: &str, item: &str) -> bool {
    reply.header(name).is_some_and(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|listed| listed == "*" || listed.eq_ignore_ascii_case(item))
    })
}

/// Discovery, token, registration and revocation endpoints accept a CORS
/// preflight from a browser-based MCP client that sends `MCP-Protocol-Version`,
/// and well-known paths that serve no document get none.
/// The authorization endpoint never allows a cross-origin read, so a page on
/// another origin cannot read the consent page or its CSRF token (RFC 9700 §2.6).
pub async fn cors_allows_discovery_not_authorize(harness: &Harness) {
    let http = harness.http();
    for (path, method) in [
        (SERVER_METADATA_PATH, "GET"),
        ("/.well-known/oauth-protected-resource/v1", "GET"),
        ("/.well-known/oauth-protected-resource/mcp", "GET"),
        ("/oauth/token", "POST"),
        ("/oauth/register", "POST"),
        ("/oauth/revoke", "POST"),
    ] {
        let what = format!("OPTIONS {path}");
        let reply = http
            .send(
                Method::OPTIONS,
                path,
                &[
                    ("origin", BROWSER_ORIGIN),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", "mcp-protocol-version"),
                ],
                None,
            )
            .await;
        assert!(
            reply.status.is_success(),
            "{what}: the preflight succeeds with 2xx: {}",
            reply.describe()
        );
        assert_cors_allowed(&reply, &what);
        assert!(
            header_lists(&reply, "access-control-allow-methods", method),
            "{what}: Access-Control-Allow-Methods lists {method}: {:?}",
            reply.headers
        );
        assert!(
            header_lists(
                &reply,
                "access-control-allow-headers",
                "mcp-protocol-version"
            ),
            "{what}: Access-Control-Allow-Headers lists mcp-protocol-version: {:?}",
            reply.headers
        );
    }

    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/openid-configuration",
        "/.well-known/no-such-document",
    ] {
        let reply = http
            .send(
                Method::OPTIONS,
                path,
                &[
                    ("origin", BROWSER_ORIGIN),
                    ("access-control-request-method", "GET"),
                ],
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            404,
            "OPTIONS {path}, which serves nothing, gets 404 and no preflight: {}",
            reply.describe()
        );
        assert!(
            reply.headers.get("access-control-allow-methods").is_none(),
            "OPTIONS {path} allows no methods: {:?}",
            reply.headers
        );
    }

    let reply = http
        .get(
            SERVER_METADATA_PATH,
            &[
                ("origin", BROWSER_ORIGIN),
                ("mcp-protocol-version", "2025-06-18"),
            ],
        )
        .await;
    assert_eq!(
        reply.status,
        200,
        "a cross-origin GET of the metadata succeeds: {}",
        reply.describe()
    );
    assert_cors_allowed(&reply, "GET of the metadata from another origin");

    let query = authorization_query(
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        &random_state(),
        &Pkce::generate(),
    );
    let path = format!("/oauth/authorize?{}", query.encode());
    let reply = http.get(&path, &[("origin", BROWSER_ORIGIN)]).await;
    assert_eq!(
        reply.status,
        200,
        "GET /oauth/authorize with an Origin still shows the consent page: {}",
        reply.describe()
    );
    assert_cors_absent(&reply, "GET /oauth/authorize from another origin");

    let reply = http
        .send(
            Method::OPTIONS,
            &path,
            &[
                ("origin", BROWSER_ORIGIN),
                ("access-control-request-method", "GET"),
                ("access-control-request-headers", "mcp-protocol-version"),
            ],
            None,
        )
        .await;
    assert!(
        !reply.status.is_server_error(),
        "OPTIONS /oauth/authorize gets no server error: {}",
        reply.describe()
    );
    assert_cors_absent(&reply, "OPTIONS /oauth/authorize from another origin");

    let reply = http
        .post_form(
            "/oauth/authorize",
            "request_id=x&csrf=y&decision=approve",
            &[("origin", BROWSER_ORIGIN)],
        )
        .await;
    assert_cors_absent(&reply, "POST /oauth/authorize from another origin");
}
