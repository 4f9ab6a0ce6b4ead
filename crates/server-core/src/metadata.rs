use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use portcullis_grants::ResourceId;
use portcullis_scopes::ScopeSet;
use serde::Serialize;

use crate::{AuthorizationServer, Clock, Store};

/// The well-known path suffix of authorization server metadata (RFC 8414 §3).
const SERVER_METADATA_SUFFIX: &str = "/.well-known/oauth-authorization-server";
/// The well-known path suffix of protected resource metadata (RFC 9728 §3).
const RESOURCE_METADATA_SUFFIX: &str = "/.well-known/oauth-protected-resource";

/// Client authentication methods of the token and revocation endpoints.
const CLIENT_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
/// Client authentication methods of the introspection endpoint: confidential clients only.
const CONFIDENTIAL_AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post"];

/// Paths of the endpoints the host serves, each appended to the issuer in the
/// authorization server metadata (RFC 8414 §2).
///
/// The optional endpoints are advertised only when set, so a host that does
/// not route one of them sets it to `None`.
///
/// ```
/// use portcullis_server_core::Endpoints;
///
/// let endpoints = Endpoints::default();
/// assert_eq!(endpoints.token, "/oauth/token");
/// assert_eq!(endpoints.registration.as_deref(), Some("/oauth/register"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Path of the authorization endpoint, `/oauth/authorize` by default.
    pub authorization: String,
    /// Path of the token endpoint, `/oauth/token` by default.
    pub token: String,
    /// Path of the revocation endpoint (RFC 7009), `/oauth/revoke` by default.
    pub revocation: Option<String>,
    /// Path of the introspection endpoint (RFC 7662), `/oauth/introspect` by default.
    pub introspection: Option<String>,
    /// Path of the dynamic registration endpoint (RFC 7591), `/oauth/register` by default.
    pub registration: Option<String>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            authorization: "/oauth/authorize".into(),
            token: "/oauth/token".into(),
            revocation: Some("/oauth/revoke".into()),
            introspection: Some("/oauth/introspect".into()),
            registration: Some("/oauth/register".into()),
        }
    }
}

/// The authorization server metadata document of RFC 8414 §2.
///
/// Lists are `None` when empty, so no field is ever sent as `[]`.
#[derive(Serialize)]
struct ServerMetadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revocation_endpoint_auth_methods_supported: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    introspection_endpoint_auth_methods_supported: Option<&'static [&'static str]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes_supported: Option<Vec<&'a str>>,
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    grant_types_supported: &'static [&'static str],
    code_challenge_methods_supported: &'static [&'static str],
    token_endpoint_auth_methods_supported: &'static [&'static str],
    authorization_response_iss_parameter_supported: bool,
}

/// The protected resource metadata document of RFC 9728 §2.
#[derive(Serialize)]
struct ResourceMetadata<'a> {
    resource: &'a str,
    authorization_servers: [&'a str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes_supported: Option<Vec<&'a str>>,
    bearer_methods_supported: &'static [&'static str],
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Builds the authorization server metadata document (RFC 8414 §2), served
    /// as JSON at [`authorization_server_metadata_url`].
    ///
    /// `issuer` is [`ServerConfig::issuer`](crate::ServerConfig::issuer)
    /// byte for byte, and each endpoint is the issuer followed by its path from
    /// [`ServerConfig::endpoints`](crate::ServerConfig::endpoints). The document
    /// advertises only what the server implements: the code grant with `S256`
    /// PKCE, refresh tokens, query responses carrying `iss` (RFC 9207 §3), and
    /// the registered scopes. Empty lists are left out rather than sent as `[]`.
    pub fn metadata(&self) -> Response<Bytes> {
        let endpoints = &self.config.endpoints;
        let document = ServerMetadata {
            issuer: &self.config.issuer,
            authorization_endpoint: self.endpoint_url(&endpoints.authorization),
            token_endpoint: self.endpoint_url(&endpoints.token),
            revocation_endpoint: self.optional_endpoint_url(endpoints.revocation.as_deref()),
            revocation_endpoint_auth_methods_supported: endpoints
                .revocation
                .as_ref()
                .map(|_| CLIENT_AUTH_METHODS),
            introspection_endpoint: self.optional_endpoint_url(endpoints.introspection.as_deref()),
            introspection_endpoint_auth_methods_supported: endpoints
                .introspection
                .as_ref()
                .map(|_| CONFIDENTIAL_AUTH_METHODS),
            registration_endpoint: self.optional_endpoint_url(endpoints.registration.as_deref()),
            scopes_supported: self.scope_names(self.config.catalog.all()),
            response_types_supported: &["code"],
            response_modes_supported: &["query"],
            grant_types_supported: &["authorization_code", "refresh_token"],
            code_challenge_methods_supported: &["S256"],
            token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
            authorization_response_iss_parameter_supported: true,
        };
        json_document(serde_json::to_string(&document))
    }

    /// Builds the protected resource metadata document of one resource (RFC 9728 §2),
    /// served as JSON at [`AuthorizationServer::resource_metadata_url`].
    ///
    /// `resource` is the canonical resource URI, the one tokens carry as their
    /// audience, and `authorization_servers` contains the issuer byte for byte.
    /// `scopes_supported` comes from
    /// [`ServerConfig::resource_scopes`](crate::ServerConfig::resource_scopes),
    /// or lists every registered scope for a resource without an entry; it is
    /// left out when empty. Tokens are accepted in the `Authorization` header only.
    /// An id that names no configured resource gets 404 with an empty body.
    pub fn protected_resource_metadata(&self, resource: ResourceId) -> Response<Bytes> {
        let Some(uri) = self.config.resources.uri(resource) else {
            tracing::debug!(?resource, "metadata requested for an unknown resource");
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        };
        let scope = self
            .config
            .resource_scopes
            .get(&resource)
            .copied()
            .unwrap_or_else(|| self.config.catalog.all());
        let document = ResourceMetadata {
            resource: uri,
            authorization_servers: [&self.config.issuer],
            scopes_supported: self.scope_names(scope),
            bearer_methods_supported: &["header"],
        };
        json_document(serde_json::to_string(&document))
    }

    /// Returns the URL of a resource's metadata document (RFC 9728 §3.1), or
    /// `None` for an unknown resource id.
    ///
    /// A protected resource sends this URL as `resource_metadata` in its challenges.
    pub fn resource_metadata_url(&self, resource: ResourceId) -> Option<String> {
        self.config
            .resources
            .uri(resource)
            .and_then(protected_resource_metadata_url)
    }

    /// Returns the issuer, without a trailing slash, followed by `path`.
    fn endpoint_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.issuer.trim_end_matches('/'))
    }

    fn optional_endpoint_url(&self, path: Option<&str>) -> Option<String> {
        path.map(|path| self.endpoint_url(path))
    }

    /// Returns the names of the scopes in `set`, or `None` for an empty set.
    fn scope_names(&self, set: ScopeSet) -> Option<Vec<&str>> {
        let names: Vec<&str> = self
            .config
            .catalog
            .describe(set)
            .map(|(name, _)| name)
            .collect();
        (!names.is_empty()).then_some(names)
    }
}

/// Returns the URL of the authorization server metadata of `issuer` (RFC 8414 §3.1).
///
/// The well-known path goes between the host and the issuer's path, so the
/// issuer `https://as.example/tenant` has its metadata at
/// `https://as.example/.well-known/oauth-authorization-server/tenant`.
/// Returns `None` when `issuer` has no `scheme://authority` part.
///
/// ```
/// use portcullis_server_core::authorization_server_metadata_url;
///
/// assert_eq!(
///     authorization_server_metadata_url("http://127.0.0.1:8080").as_deref(),
///     Some("http://127.0.0.1:8080/.well-known/oauth-authorization-server")
/// );
/// ```
pub fn authorization_server_metadata_url(issuer: &str) -> Option<String> {
    insert_well_known(issuer, SERVER_METADATA_SUFFIX)
}

/// Returns the URL of the protected resource metadata of `resource` (RFC 9728 §3.1).
///
/// The well-known path goes between the host and the resource's path and
/// query, and a lone `/` path is dropped first. Returns `None` when `resource`
/// has no `scheme://authority` part.
///
/// ```
/// use portcullis_server_core::protected_resource_metadata_url;
///
/// assert_eq!(
///     protected_resource_metadata_url("http://127.0.0.1:8080/v1").as_deref(),
///     Some("http://127.0.0.1:8080/.well-known/oauth-protected-resource/v1")
/// );
/// ```
pub fn protected_resource_metadata_url(resource: &str) -> Option<String> {
    insert_well_known(resource, RESOURCE_METADATA_SUFFIX)
}

/// Inserts `suffix` between the authority of `uri` and its path and query.
fn insert_well_known(uri: &str, suffix: &str) -> Option<String> {
    let scheme_end = uri.find("://")? + 3;
    let after_scheme = &uri[scheme_end..];
    let authority_end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    if authority_end == 0 {
        return None;
    }
    let (authority, rest) = after_scheme.split_at(authority_end);
    if rest.starts_with('#') {
        return None;
    }
    // A slash right after the host that starts no path segment is dropped (RFC 9728 §3.1).
    let rest = if rest == "/" || rest.starts_with("/?") {
        &rest[1..]
    } else {
        rest
    };
    Some(format!("{}{authority}{suffix}{rest}", &uri[..scheme_end]))
}

/// Wraps a serialised metadata document in a 200 `application/json` response.
fn json_document(json: serde_json::Result<String>) -> Response<Bytes> {
    let mut response = match json {
        Ok(json) => Response::new(Bytes::from(json)),
        Err(error) => {
            // serde_json fails only on non-string map keys or a failing Serialize
            // impl, and this document has neither, so reaching here is a bug.
            tracing::error!(%error, "serialising a metadata document failed");
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return response;
        }
    };
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_goes_between_host_and_path() {
        let cases = [
            (
                "http://127.0.0.1:8080/v1",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/v1",
            ),
            (
                "https://rs.example",
                "https://rs.example/.well-known/oauth-protected-resource",
            ),
            (
                "https://rs.example/",
                "https://rs.example/.well-known/oauth-protected-resource",
            ),
            (
                "https://rs.example/a/b",
                "https://rs.example/.well-known/oauth-protected-resource/a/b",
            ),
            (
                "https://rs.example/mcp?tenant=7",
                "https://rs.example/.well-known/oauth-protected-resource/mcp?tenant=7",
            ),
            (
                "https://rs.example/?tenant=7",
                "https://rs.example/.well-known/oauth-protected-resource?tenant=7",
            ),
            (
                "https://rs.example?tenant=7",
                "https://rs.example/.well-known/oauth-protected-resource?tenant=7",
            ),
        ];
        for (resource, expected) in cases {
            assert_eq!(
                protected_resource_metadata_url(resource).as_deref(),
                Some(expected),
                "{resource}"
            );
        }
    }

    #[test]
    fn well_known_needs_an_authority() {
        for uri in [
            "urn:example:rs",
            "rs.example/v1",
            "https:///v1",
            "https://rs.example#x",
        ] {
            assert_eq!(protected_resource_metadata_url(uri), None, "{uri}");
        }
    }

    #[test]
    fn server_metadata_url_keeps_issuer_path() {
        assert_eq!(
            authorization_server_metadata_url("https://as.example/t1").as_deref(),
            Some("https://as.example/.well-known/oauth-authorization-server/t1")
        );
    }
}
