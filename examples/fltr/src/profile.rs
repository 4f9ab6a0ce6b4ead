use portcullis_grants::{ResourceId, Resources};
use portcullis_scopes::ScopeCatalog;
use portcullis_server_core::ServerConfig;

/// The FLTR scopes with the descriptions shown on the consent page, in catalog order.
///
/// The order is part of storage: scope sets are stored as bits over this list,
/// so new scopes go at the end.
pub const SCOPES: [(&str, &str); 7] = [
    ("datasets:read", "Read datasets and documents"),
    ("datasets:write", "Create and modify datasets"),
    ("datasets:delete", "Delete datasets and documents"),
    ("mcp:query", "Use MCP query endpoints"),
    ("mcp:batch_query", "Use batch query endpoints"),
    ("webhooks:manage", "Create and manage webhooks"),
    ("account:read", "Read account information"),
];

/// Prefix of FLTR access tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "fltr_at_";
/// Prefix of FLTR refresh tokens.
pub const REFRESH_TOKEN_PREFIX: &str = "fltr_rt_";
/// Prefix of FLTR authorization codes.
pub const CODE_PREFIX: &str = "fltr_ac_";
/// Access token lifetime: one hour, as FLTR documents.
pub const ACCESS_TOKEN_LIFETIME: u64 = 3600;
/// Refresh token lifetime: 30 days, renewed by each rotation.
pub const REFRESH_TOKEN_LIFETIME: u64 = 30 * 24 * 3600;
/// Path of the sample API, the default resource of every token.
pub const API_PATH: &str = "/v1";
/// Path of the sample MCP endpoint, a second resource with its own audience.
pub const MCP_PATH: &str = "/mcp";
/// Resource id of the `/v1` API.
pub const API_RESOURCE: ResourceId = ResourceId(0);
/// Resource id of the `/mcp` endpoint.
pub const MCP_RESOURCE: ResourceId = ResourceId(1);

/// Builds the FLTR scope catalog.
pub fn catalog() -> ScopeCatalog {
    let mut catalog = ScopeCatalog::new();
    for (name, description) in SCOPES {
        // The names are valid scope-tokens and distinct, so registration cannot fail.
        let _ = catalog.register(name, description);
    }
    catalog
}

/// Builds the server configuration of the FLTR profile for `issuer`.
///
/// # Errors
///
/// Returns an error when `issuer` is not an absolute URI.
pub fn server_config(issuer: &str) -> Result<ServerConfig, portcullis_grants::ResourceError> {
    let issuer = issuer.trim_end_matches('/');
    let mut resources = Resources::new(&format!("{issuer}{API_PATH}"))?;
    resources.add(&format!("{issuer}{MCP_PATH}"))?;
    let catalog = catalog();
    let mut config = ServerConfig::new(issuer, catalog.clone(), resources);
    // Protected resource metadata lists the least each resource needs, since
    // MCP clients request every listed scope when a challenge names none.
    config.resource_scopes.insert(
        API_RESOURCE,
        catalog.lookup("datasets:read").unwrap_or_default(),
    );
    config.resource_scopes.insert(
        MCP_RESOURCE,
        catalog.lookup("mcp:query").unwrap_or_default(),
    );
    config.access_token_prefix = ACCESS_TOKEN_PREFIX.into();
    config.refresh_token_prefix = REFRESH_TOKEN_PREFIX.into();
    config.code_prefix = CODE_PREFIX.into();
    config.access_token_lifetime = ACCESS_TOKEN_LIFETIME;
    config.refresh_token_lifetime = REFRESH_TOKEN_LIFETIME;
    config.code_lifetime = 60;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_holds_the_seven_fltr_scopes() {
        let catalog = catalog();
        assert_eq!(catalog.all().len(), 7);
        let set = catalog
            .parse("datasets:read datasets:write mcp:query")
            .unwrap();
        assert_eq!(
            catalog.format(set),
            "datasets:read datasets:write mcp:query"
        );
    }

    #[test]
    fn config_uses_fltr_prefixes_and_lifetimes() {
        let config = server_config("http://127.0.0.1:8080/").unwrap();
        assert_eq!(config.issuer, "http://127.0.0.1:8080");
        assert_eq!(config.access_token_prefix, "fltr_at_");
        assert_eq!(config.access_token_lifetime, 3600);
        assert_eq!(
            config.resources.iter().next(),
            Some("http://127.0.0.1:8080/v1")
        );
    }
}
