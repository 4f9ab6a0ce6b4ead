//! In-process tests of the metadata, registration, revocation and introspection
//! endpoints. Tokens come from real code flows through `authorize`, `approve`
//! and `token`, over a `MemoryStore` and a `ManualClock`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use base64ct::{Base64, Encoding};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Request, Response};
use portcullis_grants::{
    AccessToken, Client, ClientOrigin, CodeRecord, Grant, GrantId, RefreshState, RefreshToken,
    ResourceId, Resources, SecretHash, Timestamp, UserId,
};
use portcullis_scopes::{ScopeCatalog, ScopeSet};
use portcullis_server_core::{
    AccountStore, AuthorizationServer, BearerError, IssuedTokens, ManualClock, MemoryStore,
    Redemption, Rotation, ServerConfig, Store, StoreError, StoredCode,
};
use serde_json::{Value, json};

const ISSUER: &str = "http://127.0.0.1:8080";
const V1: &str = "http://127.0.0.1:8080/v1";
const MCP: &str = "http://127.0.0.1:8080/mcp";
const START: u64 = 1_700_000_000;
/// The RFC 7636 Appendix B verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CONF_SECRET: &str = "s3cret-of-the-confidential-client";
const RS_SECRET: &str = "s3cret-of-the-resource-server";
const PUBLIC_REDIRECT: &str = "http://127.0.0.1/cb";
const CONF_REDIRECT: &str = "https://app.example/cb";
const INACTIVE: &[u8] = br#"{"active":false}"#;

type Server<S = MemoryStore> = AuthorizationServer<S, Arc<ManualClock>>;

/// How a test request authenticates its client.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// No client credentials at all.
    Nothing,
    /// `client_id` in the form, as a public client does.
    Public(&'a str),
    /// `client_id` and `client_secret` in the form.
    Post(&'a str, &'a str),
    /// `Authorization: Basic`.
    Basic(&'a str, &'a str),
}

struct Tokens {
    access: String,
    refresh: String,
}

fn catalog() -> ScopeCatalog {
    let mut catalog = ScopeCatalog::new();
    for (name, description) in [
        ("datasets:read", "Read datasets"),
        ("datasets:write", "Change datasets"),
        ("mcp:query", "Query through MCP"),
    ] {
        catalog
            .register(name, description)
            .expect("a valid scope name");
    }
    catalog
}

fn config() -> ServerConfig {
    let mut resources = Resources::new(V1).expect("an absolute resource URI");
    resources.add(MCP).expect("an absolute resource URI");
    ServerConfig::new(ISSUER, catalog(), resources)
}

fn client(id: &str, secret: Option<&str>, redirect: &str) -> Client {
    Client {
        id: id.into(),
        name: format!("{id} app"),
        secret_hash: secret.map(SecretHash::of),
        redirect_uris: vec![redirect.into()],
        scope: catalog().all(),
        origin: ClientOrigin::Administrator,
        created_at: Timestamp(START),
    }
}

/// Builds a server over `store` with the clients `pub`, `pub2`, `conf` and `rs`.
async fn server_over<S: Store>(store: S, config: ServerConfig) -> (Server<S>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    let server = AuthorizationServer::new(config, store, Arc::clone(&clock));
    for client in [
        client("pub", None, PUBLIC_REDIRECT),
        client("pub2", None, PUBLIC_REDIRECT),
        client("conf", Some(CONF_SECRET), CONF_REDIRECT),
        client("rs", Some(RS_SECRET), CONF_REDIRECT),
    ] {
        server
            .store()
            .insert_client(client)
            .await
            .expect("client ids are distinct");
    }
    (server, clock)
}

async fn server_with(config: ServerConfig) -> (Server, Arc<ManualClock>) {
    server_over(MemoryStore::new(), config).await
}

async fn server() -> (Server, Arc<ManualClock>) {
    server_with(config()).await
}

/// Builds a POST form request to `path` carrying `auth` and `body`.
fn form(path: &str, auth: Auth<'_>, body: &str) -> Request<Bytes> {
    let mut body = body.to_owned();
    let mut builder = Request::post(path).header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    match auth {
        Auth::Nothing => {}
        Auth::Public(id) => body.push_str(&format!("&client_id={id}")),
        Auth::Post(id, secret) => body.push_str(&format!("&client_id={id}&client_secret={secret}")),
        Auth::Basic(id, secret) => {
            let encoded = Base64::encode_string(format!("{id}:{secret}").as_bytes());
            builder = builder.header(AUTHORIZATION, format!("Basic {encoded}"));
        }
    }
    builder.body(Bytes::from(body)).expect("a valid request")
}

fn json_request(body: &str) -> Request<Bytes> {
    Request::post("/oauth/register")
        .header(CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_owned()))
        .expect("a valid request")
}

fn body_json(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|error| panic!("body is not JSON ({error}): {:?}", response.body()))
}

fn error_code(response: &Response<Bytes>) -> String {
    body_json(response)["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_no_store(response: &Response<Bytes>) {
    assert_eq!(
        response
            .headers()
            .get(CACHE_CONTROL)
            .map(HeaderValue::as_bytes),
        Some(&b"no-store"[..]),
        "Cache-Control: no-store is required"
    );
}

/// Returns the raw value of `name` in the query of `location`.
fn query_value(location: &str, name: &str) -> String {
    let query = location.split_once('?').map_or("", |(_, query)| query);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} missing in {location}"))
        .to_owned()
}

/// Runs a code flow for `client_id` and redeems the code, returning the tokens.
///
/// `extra` is appended to the authorization query, for `scope` or `resource`.
async fn issue<S: Store>(
    server: &Server<S>,
    client_id: &str,
    auth: Auth<'_>,
    user: UserId,
    extra: &str,
) -> Tokens {
    let redirect = if matches!(auth, Auth::Public(_)) {
        PUBLIC_REDIRECT
    } else {
        CONF_REDIRECT
    };
    let query = format!(
        "response_type=code&client_id={client_id}&redirect_uri={redirect}\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    );
    let prompt = server
        .authorize(query.as_bytes(), Some(user))
        .await
        .expect("the authorization request is valid");
    let scope = prompt.request.scope;
    let location = server
        .approve(prompt.request, user, scope)
        .await
        .expect("the approval issues a code");
    let code = query_value(&location, "code");
    let body = format!("grant_type=authorization_code&code={code}&code_verifier={VERIFIER}");
    let response = server.token(&form("/oauth/token", auth, &body)).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
    let json = body_json(&response);
    Tokens {
        access: json["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh: json["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

async fn issue_public(server: &Server) -> Tokens {
    issue(server, "pub", Auth::Public("pub"), UserId(7), "").await
}

async fn refresh<S: Store>(server: &Server<S>, auth: Auth<'_>, token: &str) -> Response<Bytes> {
    let body = format!("grant_type=refresh_token&refresh_token={token}");
    server.token(&form("/oauth/token", auth, &body)).await
}

async fn bearer<S: Store>(server: &Server<S>, token: &str) -> Result<AccessToken, BearerError> {
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a visible ASCII token");
    headers.insert(AUTHORIZATION, value);
    server
        .authenticate_bearer(&headers, ResourceId(0), ScopeSet::EMPTY)
        .await
}

async fn revoke<S: Store>(server: &Server<S>, auth: Auth<'_>, body: &str) -> Response<Bytes> {
    server.revoke(&form("/oauth/revoke", auth, body)).await
}

async fn introspect<S: Store>(server: &Server<S>, auth: Auth<'_>, body: &str) -> Response<Bytes> {
    server
        .introspect(&form("/oauth/introspect", auth, body))
        .await
}

fn assert_no_empty_lists(document: &Value) {
    let object = document.as_object().expect("a JSON object");
    for (name, value) in object {
        let empty = value.as_array().is_some_and(Vec::is_empty);
        assert!(!empty, "{name} is sent as []");
    }
}

// RFC 8414 authorization server metadata.

#[tokio::test]
async fn metadata_lists_endpoints_under_issuer() {
    let (server, _) = server().await;
    let response = server.metadata();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let document = body_json(&response);

    // RFC 8414 §3.3: issuer equals the configured issuer byte for byte.
    assert_eq!(document["issuer"], ISSUER);
    let endpoints = [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("registration_endpoint", "/oauth/register"),
    ];
    for (field, path) in endpoints {
        assert_eq!(document[field], format!("{ISSUER}{path}"), "{field}");
    }

    // RFC 8414 §2: the supported values, stated explicitly.
    assert_eq!(document["response_types_supported"], json!(["code"]));
    assert_eq!(document["response_modes_supported"], json!(["query"]));
    assert_eq!(
        document["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        document["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        document["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        document["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post"])
    );
    assert_eq!(
        document["scopes_supported"],
        json!(["datasets:read", "datasets:write", "mcp:query"])
    );
    // RFC 9207 §3: the server sends iss in every authorization response.
    assert_eq!(
        document["authorization_response_iss_parameter_supported"],
        true
    );
    assert_no_empty_lists(&document);
}

#[tokio::test]
async fn metadata_omits_disabled_endpoints_and_empty_lists() {
    let mut config = ServerConfig::new(
        "http://127.0.0.1:8080/",
        ScopeCatalog::new(),
        Resources::new(V1).unwrap(),
    );
    config.endpoints.registration = None;
    config.endpoints.introspection = None;
    config.endpoints.token = "/token".into();
    let (server, _) = server_with(config).await;
    let document = body_json(&server.metadata());

    // RFC 8414 §2: optional endpoints the server does not offer are absent.
    assert!(document.get("registration_endpoint").is_none());
    assert!(document.get("introspection_endpoint").is_none());
    assert!(
        document
            .get("introspection_endpoint_auth_methods_supported")
            .is_none()
    );
    assert!(
        document.get("scopes_supported").is_none(),
        "no [] for an empty catalog"
    );
    assert_eq!(document["issuer"], "http://127.0.0.1:8080/");
    assert_eq!(document["token_endpoint"], "http://127.0.0.1:8080/token");
    assert_eq!(
        document["revocation_endpoint"],
        "http://127.0.0.1:8080/oauth/revoke"
    );
    assert_no_empty_lists(&document);
}

// RFC 9728 protected resource metadata.

#[tokio::test]
async fn resource_metadata_names_resource_and_issuer() {
    let mut config = config();
    let mcp = config.resources.resolve(Some(MCP)).unwrap();
    let query_only = config.catalog.parse("mcp:query").unwrap();
    config.resource_scopes.insert(mcp, query_only);
    let (server, _) = server_with(config).await;

    let response = server.protected_resource_metadata(ResourceId(0));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let document = body_json(&response);
    // RFC 9728 §3.3: resource is exactly the identifier clients use.
    assert_eq!(document["resource"], V1);
    // RFC 9728 §2 with RFC 8414 §3.3: the listed issuer matches the metadata byte for byte.
    assert_eq!(document["authorization_servers"], json!([ISSUER]));
    assert_eq!(
        document["authorization_servers"][0],
        body_json(&server.metadata())["issuer"]
    );
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    assert_eq!(
        document["scopes_supported"],
        json!(["datasets:read", "datasets:write", "mcp:query"]),
        "a resource without an entry lists every scope"
    );

    let document = body_json(&server.protected_resource_metadata(mcp));
    assert_eq!(document["resource"], MCP);
    assert_eq!(document["scopes_supported"], json!(["mcp:query"]));
}

#[tokio::test]
async fn resource_metadata_omits_empty_scope_list() {
    let mut config = config();
    config
        .resource_scopes
        .insert(ResourceId(0), ScopeSet::EMPTY);
    let (server, _) = server_with(config).await;
    let document = body_json(&server.protected_resource_metadata(ResourceId(0)));
    assert!(document.get("scopes_supported").is_none());
    assert_no_empty_lists(&document);
}

#[tokio::test]
async fn resource_metadata_url_inserts_well_known() {
    let (server, _) = server().await;
    // RFC 9728 §3.1: the well-known path goes between the host and the path.
    assert_eq!(
        server.resource_metadata_url(ResourceId(0)).as_deref(),
        Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource/v1")
    );
    assert_eq!(
        server.resource_metadata_url(ResourceId(1)).as_deref(),
        Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(server.resource_metadata_url(ResourceId(9)), None);
}

#[tokio::test]
async fn unknown_resource_metadata_is_not_found() {
    let (server, _) = server().await;
    let response = server.protected_resource_metadata(ResourceId(9));
    assert_eq!(response.status(), 404);
    assert!(response.body().is_empty());
}

// RFC 7591 dynamic client registration.

#[tokio::test]
async fn public_registration_returns_201() {
    let (server, clock) = server().await;
    let body = r#"{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none",
        "grant_types":["authorization_code","refresh_token"],"response_types":["code"],
        "client_name":"t","scope":"mcp:query"}"#;
    let response = server.register(&json_request(body)).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    assert_no_store(&response);
    let document = body_json(&response);

    // RFC 7591 §3.2.1: the response echoes every registered field.
    let client_id = document["client_id"].as_str().unwrap().to_owned();
    assert_eq!(document["client_id_issued_at"], START);
    assert_eq!(document["redirect_uris"], json!(["http://127.0.0.1/cb"]));
    assert_eq!(document["token_endpoint_auth_method"], "none");
    assert_eq!(
        document["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(document["response_types"], json!(["code"]));
    assert_eq!(document["client_name"], "t");
    assert_eq!(document["scope"], "mcp:query");
    // RFC 7591 §3.2.1: a client authenticating with none gets no secret.
    assert!(document.get("client_secret").is_none());
    assert!(document.get("client_secret_expires_at").is_none());

    let stored = server.store().client(&client_id).await.unwrap().unwrap();
    assert_eq!(stored.origin, ClientOrigin::Dynamic);
    assert!(stored.is_public());
    assert_eq!(stored.name, "t");

    // The new client completes a code flow with the scope it registered.
    clock.advance(1);
    let tokens = issue(
        &server,
        &client_id,
        Auth::Public(&client_id),
        UserId(7),
        "&scope=mcp:query",
    )
    .await;
    assert!(bearer(&server, &tokens.access).await.is_ok());
}

#[tokio::test]
async fn confidential_registration_gets_hashed_secret() {
    let (server, _) = server().await;
    // RFC 7591 §2: token_endpoint_auth_method defaults to client_secret_basic.
    let response = server
        .register(&json_request(
            r#"{"redirect_uris":["https://app.example/cb"]}"#,
        ))
        .await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    assert_no_store(&response);
    let document = body_json(&response);
    assert_eq!(
        document["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(
        document["scope"], "datasets:read datasets:write mcp:query",
        "scope defaults to the whole catalog"
    );
    assert!(document.get("client_name").is_none());

    // RFC 7591 §3.2.1: a secret comes with client_secret_expires_at, 0 for never.
    let client_id = document["client_id"].as_str().unwrap().to_owned();
    let secret = document["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(document["client_secret_expires_at"], 0);
    let unreserved = |value: &str| {
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    };
    assert!(unreserved(&client_id), "{client_id}");
    assert!(unreserved(&secret));
    assert!(
        secret.len() >= 43,
        "256 random bits need 43 base64url characters"
    );

    let stored = server.store().client(&client_id).await.unwrap().unwrap();
    assert_eq!(stored.origin, ClientOrigin::Dynamic);
    assert!(stored.secret_hash.is_some_and(|hash| hash.matches(&secret)));
    assert_eq!(
        stored.name, client_id,
        "the consent page falls back to the client_id"
    );

    // The issued secret authenticates at the token endpoint with Basic.
    let auth = Auth::Basic(&client_id, &secret);
    let tokens = issue(&server, &client_id, auth, UserId(7), "").await;
    assert!(bearer(&server, &tokens.access).await.is_ok());
}

#[tokio::test]
async fn registration_ignores_unknown_metadata() {
    let (server, _) = server().await;
    // RFC 7591 §2: fields the server does not understand are ignored.
    let body = r#"{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none",
        "application_type":"native","x_foo":1,"client_name#fr":"t","software_statement":"x.y.z",
        "jwks":{"keys":[]}}"#;
    let response = server.register(&json_request(body)).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
    let document = body_json(&response);
    assert!(document.get("application_type").is_none());
    assert!(document.get("x_foo").is_none());
}

#[tokio::test]
async fn registration_rejects_invalid_redirect_uris() {
    let (server, _) = server().await;
    let many: Vec<String> = (0..21)
        .map(|port| format!("http://127.0.0.1:{port}/cb"))
        .collect();
    let many = serde_json::to_string(&many).unwrap();
    let cases = [
        r#""redirect_uris":["http://evil.example/cb"]"#.to_owned(),
        r#""redirect_uris":["https://app.example/cb#x"]"#.to_owned(),
        r#""redirect_uris":["myapp:/cb"]"#.to_owned(),
        r#""redirect_uris":["javascript:alert(1)"]"#.to_owned(),
        r#""redirect_uris":["https://*.example/cb"]"#.to_owned(),
        r#""redirect_uris":["https://u:p@app.example/cb"]"#.to_owned(),
        r#""redirect_uris":["/cb"]"#.to_owned(),
        r#""redirect_uris":[]"#.to_owned(),
        r#""client_name":"no redirect""#.to_owned(),
        format!(r#""redirect_uris":{many}"#),
    ];
    for field in cases {
        let body = format!(r#"{{"token_endpoint_auth_method":"none",{field}}}"#);
        let response = server.register(&json_request(&body)).await;
        // RFC 7591 §3.2.2: a bad redirect URI is 400 invalid_redirect_uri.
        assert_eq!(response.status(), 400, "{field}");
        assert_eq!(error_code(&response), "invalid_redirect_uri", "{field}");
    }

    // RFC 8252 §7.1: private-use schemes are for public clients only.
    let body = r#"{"redirect_uris":["com.example.app:/cb"],"token_endpoint_auth_method":"client_secret_post"}"#;
    let response = server.register(&json_request(body)).await;
    assert_eq!(error_code(&response), "invalid_redirect_uri");
    let body = r#"{"redirect_uris":["com.example.app:/cb","http://localhost/cb","https://app.example/cb"],"token_endpoint_auth_method":"none"}"#;
    let response = server.register(&json_request(body)).await;
    assert_eq!(response.status(), 201, "{:?}", response.body());
}

#[tokio::test]
async fn registration_rejects_unsupported_metadata() {
    let (server, _) = server().await;
    let long_name = "n".repeat(201);
    let cases = [
        r#""grant_types":["implicit"]"#.to_owned(),
        r#""grant_types":["password"]"#.to_owned(),
        r#""grant_types":["authorization_code","client_credentials"]"#.to_owned(),
        r#""grant_types":["refresh_token"]"#.to_owned(),
        r#""response_types":["token"]"#.to_owned(),
        r#""response_types":["code","id_token"]"#.to_owned(),
        r#""token_endpoint_auth_method":"private_key_jwt""#.to_owned(),
        r#""scope":"datasets:read nonsense:x""#.to_owned(),
        r#""scope":"datasets:read \"quoted\"""#.to_owned(),
        format!(r#""client_name":"{long_name}""#),
        r#""grant_types":"authorization_code""#.to_owned(),
    ];
    for field in cases {
        let body = format!(r#"{{"redirect_uris":["https://app.example/cb"],{field}}}"#);
        let response = server.register(&json_request(&body)).await;
        // RFC 7591 §3.2.2: other bad metadata is 400 invalid_client_metadata.
        assert_eq!(response.status(), 400, "{field}");
        assert_eq!(error_code(&response), "invalid_client_metadata", "{field}");
        assert_no_store(&response);
    }
}

#[tokio::test]
async fn registration_requires_json_body() {
    let (server, _) = server().await;
    let valid = r#"{"redirect_uris":["https://app.example/cb"]}"#;
    let as_form = Request::post("/oauth/register")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Bytes::from_static(b"redirect_uris=https://app.example/cb"))
        .unwrap();
    let no_type = Request::post("/oauth/register")
        .body(Bytes::from(valid))
        .unwrap();
    let padding = " ".repeat(16 * 1024);
    let too_large = json_request(&format!("{valid}{padding}"));
    for request in [
        as_form,
        no_type,
        json_request("not json"),
        json_request(r#"["https://app.example/cb"]"#),
        json_request(""),
        too_large,
    ] {
        let response = server.register(&request).await;
        assert_eq!(response.status(), 400);
        assert_eq!(error_code(&response), "invalid_client_metadata");
    }

    let get = Request::get("/oauth/register").body(Bytes::new()).unwrap();
    let response = server.register(&get).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

// RFC 7009 token revocation.

#[tokio::test]
async fn revoking_refresh_token_revokes_grant() {
    let (server, _) = server().await;
    let tokens = issue_public(&server).await;
    let body = format!("token={}", tokens.refresh);
    let response = revoke(&server, Auth::Public("pub"), &body).await;
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());
    assert_no_store(&response);

    // RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant.
    let response = refresh(&server, Auth::Public("pub"), &tokens.refresh).await;
    assert_eq!(error_code(&response), "invalid_grant");
    assert!(matches!(
        bearer(&server, &tokens.access).await,
        Err(BearerError::InvalidToken)
    ));
}

#[tokio::test]
async fn revoking_access_token_keeps_grant() {
    let (server, _) = server().await;
    let tokens = issue_public(&server).await;
    let body = format!("token={}&token_type_hint=access_token", tokens.access);
    let response = revoke(&server, Auth::Public("pub"), &body).await;
    assert_eq!(response.status(), 200);
    assert!(matches!(
        bearer(&server, &tokens.access).await,
        Err(BearerError::InvalidToken)
    ));
    // Only that access token ends: the refresh token still works.
    let response = refresh(&server, Auth::Public("pub"), &tokens.refresh).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
}

#[tokio::test]
async fn wrong_token_type_hint_still_revokes() {
    // RFC 7009 §2.1: a hint that does not match makes the server search every type.
    let (server, _) = server().await;
    let tokens = issue_public(&server).await;
    let body = format!("token={}&token_type_hint=access_token", tokens.refresh);
    assert_eq!(
        revoke(&server, Auth::Public("pub"), &body).await.status(),
        200
    );
    let response = refresh(&server, Auth::Public("pub"), &tokens.refresh).await;
    assert_eq!(error_code(&response), "invalid_grant");

    let tokens = issue_public(&server).await;
    let body = format!("token={}&token_type_hint=refresh_token", tokens.access);
    assert_eq!(
        revoke(&server, Auth::Public("pub"), &body).await.status(),
        200
    );
    assert!(bearer(&server, &tokens.access).await.is_err());

    let tokens = issue_public(&server).await;
    let body = format!("token={}&token_type_hint=id_token", tokens.refresh);
    assert_eq!(
        revoke(&server, Auth::Public("pub"), &body).await.status(),
        200
    );
    let response = refresh(&server, Auth::Public("pub"), &tokens.refresh).await;
    assert_eq!(
        error_code(&response),
        "invalid_grant",
        "an unknown hint is ignored"
    );
}

#[tokio::test]
async fn revoking_unknown_or_dead_token_is_ok() {
    // RFC 7009 §2.2: unknown, expired and already revoked tokens get 200.
    let (server, clock) = server().await;
    let response = revoke(&server, Auth::Public("pub"), "token=garbage").await;
    assert_eq!(response.status(), 200);
    assert_no_store(&response);

    let tokens = issue_public(&server).await;
    let body = format!("token={}", tokens.refresh);
    for _ in 0..2 {
        assert_eq!(
            revoke(&server, Auth::Public("pub"), &body).await.status(),
            200
        );
    }

    let tokens = issue_public(&server).await;
    clock.advance(3601);
    let body = format!("token={}", tokens.access);
    assert_eq!(
        revoke(&server, Auth::Public("pub"), &body).await.status(),
        200
    );
}

#[tokio::test]
async fn other_clients_tokens_are_not_revoked() {
    // RFC 7009 §2.1: the server checks that the token was issued to the caller.
    let (server, _) = server().await;
    let tokens = issue_public(&server).await;
    for token in [&tokens.access, &tokens.refresh] {
        let response = revoke(&server, Auth::Public("pub2"), &format!("token={token}")).await;
        assert_eq!(response.status(), 200, "no hint that the token exists");
    }
    let body = format!("token={}", tokens.access);
    let response = revoke(&server, Auth::Post("conf", CONF_SECRET), &body).await;
    assert_eq!(response.status(), 200);

    assert!(bearer(&server, &tokens.access).await.is_ok());
    let response = refresh(&server, Auth::Public("pub"), &tokens.refresh).await;
    assert_eq!(response.status(), 200, "{:?}", response.body());
}

#[tokio::test]
async fn revocation_authenticates_like_token_endpoint() {
    let (server, _) = server().await;
    let conf = Auth::Basic("conf", CONF_SECRET);
    let tokens = issue(&server, "conf", conf, UserId(7), "").await;
    let body = format!("token={}", tokens.refresh);

    // RFC 7009 §2.1: a confidential client must authenticate to revoke.
    let response = revoke(&server, Auth::Public("conf"), &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(&response), "invalid_client");
    assert_no_store(&response);
    let response = revoke(&server, Auth::Post("conf", "wrong"), &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(&response), "invalid_client");

    // RFC 6749 §5.2: failed Basic credentials get 401 and a Basic challenge.
    let response = revoke(&server, Auth::Basic("conf", "wrong"), &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(&response), "invalid_client");
    let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    // OAuth 2.1 §2.4: one authentication method per request.
    let both = format!("{body}&client_secret={CONF_SECRET}");
    let response = revoke(&server, conf, &both).await;
    assert_eq!(error_code(&response), "invalid_request");
    // RFC 6749 §5.2: a request with no client authentication at all is invalid_client.
    let response = revoke(&server, Auth::Nothing, &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(error_code(&response), "invalid_client");

    assert_eq!(refresh(&server, conf, &tokens.refresh).await.status(), 200);
    let tokens = issue(&server, "conf", conf, UserId(7), "").await;
    let response = revoke(&server, conf, &format!("token={}", tokens.refresh)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        error_code(&refresh(&server, conf, &tokens.refresh).await),
        "invalid_grant"
    );
}

#[tokio::test]
async fn revocation_needs_token_and_post_form() {
    let (server, _) = server().await;
    // RFC 7009 §2.1: token is required.
    let response = revoke(&server, Auth::Public("pub"), "token_type_hint=access_token").await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(&response), "invalid_request");
    assert_eq!(
        body_json(&response)["error_description"],
        "token is missing"
    );
    assert_no_store(&response);
    let response = revoke(&server, Auth::Public("pub"), "token=a&token=b").await;
    assert_eq!(error_code(&response), "invalid_request");

    let get = Request::get("/oauth/revoke?token=x")
        .body(Bytes::new())
        .unwrap();
    let response = server.revoke(&get).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let json_body = Request::post("/oauth/revoke")
        .header(CONTENT_TYPE, "application/json")
        .body(Bytes::from_static(br#"{"token":"x","client_id":"pub"}"#))
        .unwrap();
    let response = server.revoke(&json_body).await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(&response), "invalid_request");
}

// RFC 7662 token introspection.

#[tokio::test]
async fn introspection_describes_active_access_token() {
    let (server, _) = server().await;
    let alice = server
        .store()
        .insert_user("alice", "$argon2id$unused")
        .await
        .unwrap();
    let conf = Auth::Basic("conf", CONF_SECRET);
    let extra = format!("&scope=datasets:read+mcp:query&resource={MCP}");
    let tokens = issue(&server, "conf", conf, alice.id, &extra).await;

    let request = form(
        "/oauth/introspect",
        conf,
        &format!("token={}", tokens.access),
    );
    let response = server.introspect_with(&request, server.store()).await;
    assert_eq!(response.status(), 200);
    assert_no_store(&response);
    // RFC 7662 §2.2: active plus the token's metadata.
    let expected = json!({
        "active": true,
        "scope": "datasets:read mcp:query",
        "client_id": "conf",
        "username": "alice",
        "token_type": "Bearer",
        "exp": START + 3600,
        "iat": START,
        "sub": alice.id.to_string(),
        "aud": MCP,
        "iss": ISSUER,
    });
    assert_eq!(body_json(&response), expected);

    // Without an account store there is no username, and nothing else changes.
    let response = server.introspect(&request).await;
    let mut without_username = expected;
    without_username.as_object_mut().unwrap().remove("username");
    assert_eq!(body_json(&response), without_username);
}

#[tokio::test]
async fn introspection_omits_username_of_unknown_user() {
    let (server, _) = server().await;
    let conf = Auth::Post("conf", CONF_SECRET);
    let tokens = issue(&server, "conf", conf, UserId(999), "").await;
    let request = form(
        "/oauth/introspect",
        conf,
        &format!("token={}", tokens.access),
    );
    let document = body_json(&server.introspect_with(&request, server.store()).await);
    assert_eq!(document["active"], true);
    assert_eq!(document["sub"], "999");
    assert!(document.get("username").is_none());
}

#[tokio::test]
async fn introspected_refresh_token_has_grant_scope() {
    let (server, clock) = server().await;
    let conf = Auth::Basic("conf", CONF_SECRET);
    let tokens = issue(
        &server,
        "conf",
        conf,
        UserId(7),
        "&scope=datasets:read+mcp:query",
    )
    .await;
    clock.advance(10);
    // OAuth 2.1 §4.3.3: a narrower refresh keeps the grant's scope on the refresh token.
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&scope=datasets:read",
        tokens.refresh
    );
    let response = server.token(&form("/oauth/token", conf, &body)).await;
    assert_eq!(response.status(), 200);
    let refreshed = body_json(&response);
    let new_access = refreshed["access_token"].as_str().unwrap();
    let new_refresh = refreshed["refresh_token"].as_str().unwrap();

    let document = body_json(&introspect(&server, conf, &format!("token={new_refresh}")).await);
    assert_eq!(document["active"], true);
    assert_eq!(document["token_type"], "refresh_token");
    assert_eq!(document["scope"], "datasets:read mcp:query");
    assert_eq!(document["client_id"], "conf");
    assert_eq!(document["iat"], START + 10);
    assert_eq!(document["exp"], START + 10 + 30 * 24 * 3600);
    assert_eq!(document["aud"], V1);
    assert_eq!(document["iss"], ISSUER);

    let document = body_json(&introspect(&server, conf, &format!("token={new_access}")).await);
    assert_eq!(document["scope"], "datasets:read");
}

#[tokio::test]
async fn introspection_ignores_token_type_hint() {
    // RFC 7662 §2.1: the hint only helps the lookup and never changes the response.
    let (server, _) = server().await;
    let conf = Auth::Basic("conf", CONF_SECRET);
    let tokens = issue(&server, "conf", conf, UserId(7), "").await;
    let plain = introspect(&server, conf, &format!("token={}", tokens.access)).await;
    for hint in ["refresh_token", "access_token", "id_token"] {
        let body = format!("token={}&token_type_hint={hint}", tokens.access);
        let hinted = introspect(&server, conf, &body).await;
        assert_eq!(hinted.body(), plain.body(), "{hint}");
    }
    let body = format!("token={}&token_type_hint=access_token", tokens.refresh);
    let document = body_json(&introspect(&server, conf, &body).await);
    assert_eq!(document["token_type"], "refresh_token");
}

#[tokio::test]
async fn inactive_tokens_are_only_active_false() {
    // RFC 7662 §2.2: an inactive token gets active false and nothing else.
    let (server, clock) = server().await;
    let conf = Auth::Basic("conf", CONF_SECRET);
    let assert_inactive = |response: Response<Bytes>, case: &str| {
        assert_eq!(response.status(), 200, "{case}");
        assert_eq!(response.body().as_ref(), INACTIVE, "{case}");
        assert_no_store(&response);
    };

    assert_inactive(
        introspect(&server, conf, "token=garbage").await,
        "unknown token",
    );

    let rotated = issue(&server, "conf", conf, UserId(7), "").await;
    assert_eq!(refresh(&server, conf, &rotated.refresh).await.status(), 200);
    let body = format!("token={}", rotated.refresh);
    assert_inactive(
        introspect(&server, conf, &body).await,
        "rotated refresh token",
    );

    let revoked = issue(&server, "conf", conf, UserId(7), "").await;
    let body = format!("token={}", revoked.access);
    assert_eq!(revoke(&server, conf, &body).await.status(), 200);
    assert_inactive(
        introspect(&server, conf, &body).await,
        "revoked access token",
    );
    let body = format!("token={}", revoked.refresh);
    assert_eq!(revoke(&server, conf, &body).await.status(), 200);
    assert_inactive(
        introspect(&server, conf, &body).await,
        "revoked refresh token",
    );

    let expiring = issue(&server, "conf", conf, UserId(7), "").await;
    clock.advance(3600);
    let body = format!("token={}", expiring.access);
    assert_inactive(
        introspect(&server, conf, &body).await,
        "expired access token",
    );
    clock.advance(30 * 24 * 3600);
    let body = format!("token={}", expiring.refresh);
    assert_inactive(
        introspect(&server, conf, &body).await,
        "expired refresh token",
    );
}

#[tokio::test]
async fn introspection_requires_confidential_client() {
    // RFC 7662 §2.1: the caller must authenticate, so the endpoint cannot scan for tokens.
    let (server, _) = server().await;
    let tokens = issue_public(&server).await;
    let body = format!("token={}", tokens.access);
    for (auth, case) in [
        (Auth::Nothing, "no credentials"),
        (Auth::Public("pub"), "public client"),
        (
            Auth::Public("conf"),
            "confidential client without its secret",
        ),
        (Auth::Post("conf", "wrong"), "wrong secret in the form"),
        (Auth::Post("nobody", "x"), "unknown client"),
    ] {
        let response = introspect(&server, auth, &body).await;
        assert_eq!(response.status(), 401, "{case}");
        assert_eq!(error_code(&response), "invalid_client", "{case}");
        assert_no_store(&response);
    }
    let response = introspect(&server, Auth::Nothing, &body).await;
    let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");

    let response = introspect(&server, Auth::Basic("conf", "wrong"), &body).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key(WWW_AUTHENTICATE));

    let response = introspect(
        &server,
        Auth::Basic("conf", CONF_SECRET),
        "token_type_hint=x",
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(error_code(&response), "invalid_request");

    let get = Request::get("/oauth/introspect")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(server.introspect(&get).await.status(), 405);
}

#[tokio::test]
async fn introspection_of_other_clients_needs_config() {
    let (server, _) = server().await;
    let tokens = issue_public(&server).await;
    let body = format!("token={}", tokens.access);
    // By default a client sees only tokens of its own grants.
    for auth in [
        Auth::Basic("conf", CONF_SECRET),
        Auth::Post("rs", RS_SECRET),
    ] {
        let response = introspect(&server, auth, &body).await;
        assert_eq!(response.body().as_ref(), INACTIVE);
    }

    let mut config = config();
    config.introspection_of_other_clients = true;
    let (server, _) = server_with(config).await;
    let tokens = issue_public(&server).await;
    let body = format!("token={}", tokens.access);
    let document = body_json(&introspect(&server, Auth::Post("rs", RS_SECRET), &body).await);
    assert_eq!(document["active"], true);
    assert_eq!(document["client_id"], "pub");
    assert_eq!(document["aud"], V1);
}

// Storage failures.

/// A `MemoryStore` that fails every call with a transient error while `failing` is set.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    failing: AtomicBool,
}

impl FlakyStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable("the test database is down".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for FlakyStore {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        self.check()?;
        self.inner.client(client_id).await
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert_client(client).await
    }

    async fn insert_code(&self, hash: SecretHash, code: CodeRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.insert_code(hash, code).await
    }

    async fn code(&self, hash: SecretHash) -> Result<Option<StoredCode>, StoreError> {
        self.check()?;
        self.inner.code(hash).await
    }

    async fn redeem_code(
        &self,
        hash: SecretHash,
        now: Timestamp,
        grant: Grant,
        tokens: IssuedTokens,
    ) -> Result<Redemption, StoreError> {
        self.check()?;
        self.inner.redeem_code(hash, now, grant, tokens).await
    }

    async fn access_token(&self, hash: SecretHash) -> Result<Option<AccessToken>, StoreError> {
        self.check()?;
        self.inner.access_token(hash).await
    }

    async fn refresh_token(
        &self,
        hash: SecretHash,
    ) -> Result<Option<(RefreshToken, RefreshState)>, StoreError> {
        self.check()?;
        self.inner.refresh_token(hash).await
    }

    async fn rotate_refresh(
        &self,
        old: SecretHash,
        now: Timestamp,
        tokens: IssuedTokens,
    ) -> Result<Rotation, StoreError> {
        self.check()?;
        self.inner.rotate_refresh(old, now, tokens).await
    }

    async fn grant(&self, id: GrantId) -> Result<Option<Grant>, StoreError> {
        self.check()?;
        self.inner.grant(id).await
    }

    async fn revoke_grant(&self, id: GrantId) -> Result<(), StoreError> {
        self.check()?;
        self.inner.revoke_grant(id).await
    }

    async fn revoke_access_token(&self, hash: SecretHash) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.revoke_access_token(hash).await
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        self.check()?;
        self.inner.purge_expired(now, limit).await
    }
}

#[tokio::test]
async fn store_outage_is_temporarily_unavailable() {
    let (server, _) = server_over(FlakyStore::default(), config()).await;
    let conf = Auth::Basic("conf", CONF_SECRET);
    let tokens = issue(&server, "conf", conf, UserId(7), "").await;
    server.store().failing.store(true, Ordering::SeqCst);

    // RFC 7009 §2.2.1: after a 503 the client must assume the token is still valid.
    let body = format!("token={}", tokens.refresh);
    let response = revoke(&server, conf, &body).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "temporarily_unavailable");
    assert_no_store(&response);

    let response = introspect(&server, conf, &body).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "temporarily_unavailable");

    let registration = json_request(r#"{"redirect_uris":["https://app.example/cb"]}"#);
    let response = server.register(&registration).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_code(&response), "temporarily_unavailable");

    server.store().failing.store(false, Ordering::SeqCst);
    let document = body_json(&introspect(&server, conf, &body).await);
    assert_eq!(
        document["active"], true,
        "nothing was revoked during the outage"
    );
}
