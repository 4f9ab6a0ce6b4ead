use std::collections::HashMap;

use portcullis_grants::{MAX_CODE_LIFETIME, ResourceId, Resources};
use portcullis_scopes::{ScopeCatalog, ScopeSet};

use crate::Endpoints;

/// Policy and identity of one authorization server.
///
/// ```
/// use portcullis_grants::Resources;
/// use portcullis_scopes::ScopeCatalog;
/// use portcullis_server_core::ServerConfig;
///
/// let mut catalog = ScopeCatalog::new();
/// catalog.register("datasets:read", "Read datasets").unwrap();
/// let resources = Resources::new("https://as.example/v1").unwrap();
/// let config = ServerConfig::new("https://as.example", catalog, resources);
/// assert_eq!(config.access_token_lifetime, 3600);
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The issuer identifier: sent as `iss` (RFC 9207) and in metadata (RFC 8414).
    pub issuer: String,
    /// The registered scopes.
    pub catalog: ScopeCatalog,
    /// The protected resources tokens are issued for; the first is the default audience.
    pub resources: Resources,
    /// Prefix of every access token, such as `fltr_at_`; helps secret scanners.
    pub access_token_prefix: String,
    /// Prefix of every refresh token.
    pub refresh_token_prefix: String,
    /// Prefix of every authorization code.
    pub code_prefix: String,
    /// Access token lifetime in seconds.
    pub access_token_lifetime: u64,
    /// Refresh token lifetime in seconds; rotation starts a new one, so this is
    /// also the idle timeout of a grant.
    pub refresh_token_lifetime: u64,
    /// Authorization code lifetime in seconds, at most 600.
    pub code_lifetime: u64,
    /// Endpoint paths advertised in the authorization server metadata.
    pub endpoints: Endpoints,
    /// The `scopes_supported` of each resource's metadata (RFC 9728 §2); a
    /// resource without an entry lists every registered scope.
    pub resource_scopes: HashMap<ResourceId, ScopeSet>,
    /// Whether a client may introspect tokens issued to other clients, as a
    /// resource server does (RFC 7662 §2.1); `false` by default.
    pub introspection_of_other_clients: bool,
    /// Failed client authentications a registered client may make per minute
    /// before the token, revocation and introspection endpoints answer 429
    /// `slow_down` for the rest of that minute (OAuth 2.1 §2.4.1).
    pub client_auth_failure_limit: u32,
}

impl ServerConfig {
    /// Creates a configuration with the defaults: 1 hour access tokens, 30 day
    /// refresh tokens, 60 second codes, no token prefixes, the default
    /// [`Endpoints`], and introspection limited to a client's own tokens.
    pub fn new(issuer: impl Into<String>, catalog: ScopeCatalog, resources: Resources) -> Self {
        Self {
            issuer: issuer.into(),
            catalog,
            resources,
            access_token_prefix: String::new(),
            refresh_token_prefix: String::new(),
            code_prefix: String::new(),
            access_token_lifetime: 3600,
            refresh_token_lifetime: 30 * 24 * 3600,
            code_lifetime: 60,
            endpoints: Endpoints::default(),
            resource_scopes: HashMap::new(),
            introspection_of_other_clients: false,
            client_auth_failure_limit: 20,
        }
    }

    pub(crate) fn code_lifetime(&self) -> u64 {
        self.code_lifetime.min(MAX_CODE_LIFETIME)
    }
}
