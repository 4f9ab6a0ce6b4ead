//! Protected resource metadata (RFC 9728) of the `/v1` API and the `/mcp`
//! endpoint, and the challenges that point clients to it.

use serde_json::Value;

use crate::cases::metadata::{empty_arrays, server_metadata, string_list};
use crate::challenge::bearer_challenge;
use crate::fixture::{ALICE, GUIDE_SCOPE, WEB_APP};
use crate::oauth::{ClientAuth, Tokens, datasets, obtain_tokens};
use crate::resource::{
    API_PATH, AuthorizationRequest, MCP_PATH, call_mcp, exchange_with_resource,
    resource_metadata_url, resource_uri,
};
use crate::{Harness, Reply};

/// The scope each sample resource requires, which its metadata lists alone.
const RESOURCES: [(&str, &str); 2] = [(API_PATH, "datasets:read"), (MCP_PATH, "mcp:query")];

/// Fetches the document at an absolute URL on the server under test.
async fn fetch(harness: &Harness, url: &str) -> Reply {
    let path = url
        .strip_prefix(harness.base_url())
        .unwrap_or_else(|| panic!("{url} is on the server under test"));
    harness.http().get(path, &[]).await
}

/// Fetches the protected resource metadata at `url` and checks that it
/// describes the resource at `path`.
async fn assert_resource_metadata(harness: &Harness, url: &str, path: &str) -> Value {
    let reply = fetch(harness, url).await;
    assert_eq!(
        reply.status,
        200,
        "GET {url} succeeds: {}",
        reply.describe()
    );
    let document = reply.json();
    assert_eq!(
        document.get("resource").and_then(Value::as_str),
        Some(resource_uri(harness, path).as_str()),
        "{url}: resource is exactly the issuer followed by {path}, without a trailing slash (RFC 9728 §3.3)"
    );
    document
}

/// Each resource's metadata names that resource exactly, lists this server
/// as its authorization server with the metadata's `issuer` byte for byte,
/// lists only the scope the resource needs, and accepts tokens in the header
/// only (RFC 9728 §2, §3.3). The host's root has no document.
pub async fn resource_metadata_names_each_resource(harness: &Harness) {
    let server = server_metadata(harness).await;
    let issuer = server
        .get("issuer")
        .and_then(Value::as_str)
        .expect("the server metadata has an issuer");

    for (path, scope) in RESOURCES {
        let url = resource_metadata_url(harness, path);
        let document = assert_resource_metadata(harness, &url, path).await;
        let servers = string_list(&document, "authorization_servers");
        assert!(
            !servers.is_empty(),
            "{url}: authorization_servers lists at least one server"
        );
        assert_eq!(
            servers[0], issuer,
            "{url}: authorization_servers[0] equals the server metadata's issuer byte for byte"
        );
        let scopes = string_list(&document, "scopes_supported");
        assert!(
            scopes.contains(&scope),
            "{url}: scopes_supported lists {scope}: {scopes:?}"
        );
        assert!(
            !scopes.contains(&"offline_access"),
            "{url}: scopes_supported does not list offline_access: {scopes:?}"
        );
        assert_eq!(
            scopes,
            [scope],
            "{url}: scopes_supported is minimal, because MCP clients request every listed scope"
        );
        assert_eq!(
            string_list(&document, "bearer_methods_supported"),
            ["header"],
            "{url}: tokens are accepted in the Authorization header only"
        );
        assert_eq!(
            empty_arrays(&document, ""),
            Vec::<String>::new(),
            "{url}: no list is empty"
        );
    }

    // RFC 9728 §3.3: a document's `resource` must equal the identifier its
    // URL was built from, so the host's root has none: no resource is the
    // bare issuer, and two resources share the host.
    let reply = harness
        .http()
        .get("/.well-known/oauth-protected-resource", &[])
        .await;
    assert_eq!(
        reply.status,
        404,
        "the root metadata URL names no resource of this server: {}",
        reply.describe()
    );

    let reply = harness
        .http()
        .get("/.well-known/oauth-protected-resource/other", &[])
        .await;
    assert_eq!(
        reply.status,
        404,
        "metadata of a resource the server does not have is 404: {}",
        reply.describe()
    );
}

/// Checks a rejected request's challenge: the status, `resource_metadata`
/// pointing at the resource's own metadata, the error code (none for a request
/// without credentials) and the scope the resource requires. Then fetches the
/// `resource_metadata` URL and checks that it describes that resource.
async fn assert_challenge(
    harness: &Harness,
    reply: &Reply,
    status: u16,
    error: Option<&str>,
    path: &str,
    what: &str,
) {
    let challenge = bearer_challenge(reply, status, what);
    let expected_url = resource_metadata_url(harness, path);
    assert_eq!(
        challenge.param("resource_metadata"),
        Some(expected_url.as_str()),
        "{what}: resource_metadata points at the metadata of {path} (RFC 9728 §5.1)"
    );
    assert_eq!(
        challenge.param("error"),
        error,
        "{what}: the challenge's error code"
    );
    let required = RESOURCES
        .iter()
        .find(|(resource, _)| *resource == path)
        .map(|(_, scope)| *scope);
    assert_eq!(
        challenge.param("scope"),
        required,
        "{what}: the challenge names the scope the resource needs (RFC 6750 §3)"
    );
    assert_resource_metadata(harness, &expected_url, path).await;
}

/// Every 401 and 403 from `/v1/datasets` and `POST /mcp` carries a `Bearer`
/// challenge whose `resource_metadata` is the URL of that resource's own
/// metadata, and fetching the URL returns it (RFC 9728 §5.1). A request
/// without credentials gets no error code. An unknown token, or one for the
/// other resource, gets `invalid_token` (RFC 8707 §2). A token without the
/// needed scope gets 403 `insufficient_scope` with `scope` (RFC 6750 §3.1).
pub async fn challenges_link_resource_metadata(harness: &Harness) {
    let http = harness.http();
    let api_token = obtain_tokens(harness, &WEB_APP, GUIDE_SCOPE, ALICE).await;
    let mcp_token = tokens_for(harness, GUIDE_SCOPE, MCP_PATH).await;

    let unauthenticated = http.get("/v1/datasets", &[]).await;
    assert_challenge(
        harness,
        &unauthenticated,
        401,
        None,
        API_PATH,
        "/v1/datasets without a token",
    )
    .await;
    let unauthenticated = call_mcp(http, None).await;
    assert_challenge(
        harness,
        &unauthenticated,
        401,
        None,
        MCP_PATH,
        "POST /mcp without a token",
    )
    .await;

    for (what, token) in [
        ("an unknown token", "fltr_at_unknown"),
        ("a token for /mcp", mcp_token.access_token.as_str()),
    ] {
        let reply = datasets(http, token).await;
        let what = format!("/v1/datasets with {what}");
        assert_challenge(harness, &reply, 401, Some("invalid_token"), API_PATH, &what).await;
    }
    for (what, token) in [
        ("an unknown token", "fltr_at_unknown"),
        ("a token for /v1", api_token.access_token.as_str()),
    ] {
        let reply = call_mcp(http, Some(token)).await;
        let what = format!("POST /mcp with {what}");
        assert_challenge(harness, &reply, 401, Some("invalid_token"), MCP_PATH, &what).await;
    }

    let no_datasets = obtain_tokens(harness, &WEB_APP, "mcp:query", ALICE).await;
    let reply = datasets(http, &no_datasets.access_token).await;
    assert_challenge(
        harness,
        &reply,
        403,
        Some("insufficient_scope"),
        API_PATH,
        "/v1/datasets with a token holding mcp:query only",
    )
    .await;
    let no_mcp = tokens_for(harness, "datasets:read", MCP_PATH).await;
    let reply = call_mcp(http, Some(&no_mcp.access_token)).await;
    assert_challenge(
        harness,
        &reply,
        403,
        Some("insufficient_scope"),
        MCP_PATH,
        "POST /mcp with a token holding datasets:read only",
    )
    .await;
}

/// Obtains tokens of the web app for `scope`, bound to the resource at `path`.
async fn tokens_for(harness: &Harness, scope: &str, path: &str) -> Tokens {
    let resource = resource_uri(harness, path);
    let request = AuthorizationRequest::new(WEB_APP.client_id, WEB_APP.redirect_uri, scope)
        .with_resource(&resource);
    let authorized = request
        .approve(harness, &mut harness.browser(), ALICE)
        .await;
    let reply = exchange_with_resource(
        harness.http(),
        ClientAuth::of(&WEB_APP),
        &authorized,
        Some(&resource),
    )
    .await;
    Tokens::from_reply(&reply)
}
