//! Run configuration: the server, the test client and user, and policy flags.

use std::fmt;
use std::str::FromStr;

/// Scope that the protected resource at `--resource-url` requires, by default.
pub const DEFAULT_RESOURCE_SCOPE: &str = "datasets:read";
/// Per-request time limit in seconds, by default.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// A secret given on the command line: a client secret or a password.
///
/// `Debug` prints a placeholder, so a logged configuration never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// Everything a run needs: where the server is, which client and user to act
/// as, and which policy-dependent checks to enable.
///
/// The binary fills it from command-line flags, and each flag also reads a
/// `PORTCULLIS_CONFORMANCE_*` environment variable. A test builds it with
/// [`Config::new`] and changes fields as needed.
#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// Issuer identifier of the authorization server, such as http://127.0.0.1:8080.
    /// The metadata `issuer` must equal it byte for byte.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_ISSUER")]
    pub issuer: String,

    /// Client ID of a client registered for the authorization code grant.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_CLIENT_ID")]
    pub client_id: String,

    /// Client secret of that client; without it the client is treated as public
    /// and the client authentication checks are skipped.
    #[arg(
        long,
        env = "PORTCULLIS_CONFORMANCE_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub client_secret: Option<Secret>,

    /// A redirect URI registered for that client, exactly as registered.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_REDIRECT_URI")]
    pub redirect_uri: String,

    /// User name to sign in with on the login form.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_USERNAME")]
    pub username: String,

    /// Password to sign in with on the login form.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_PASSWORD", hide_env_values = true)]
    pub password: Secret,

    /// Scope to request in authorization requests (space-separated); defaults to
    /// --resource-scope, and an empty value sends no scope parameter.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_SCOPE")]
    pub scope: Option<String>,

    /// Client ID of a registered public client (no secret) for the checks that
    /// need one. Without it, the kit registers one when the server offers dynamic
    /// client registration.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_PUBLIC_CLIENT_ID")]
    pub public_client_id: Option<String>,

    /// Redirect URI of the public client; defaults to --redirect-uri.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_PUBLIC_REDIRECT_URI")]
    pub public_redirect_uri: Option<String>,

    /// Protected resource URL for the bearer token checks; defaults to the
    /// issuer followed by /v1/datasets. The checks are skipped when it responds 404.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_RESOURCE_URL")]
    pub resource_url: Option<String>,

    /// Scope that the protected resource requires.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_RESOURCE_SCOPE", default_value = DEFAULT_RESOURCE_SCOPE)]
    pub resource_scope: String,

    /// HTTP method of the requests to --resource-url.
    #[arg(long, default_value = "GET", value_name = "METHOD")]
    pub resource_method: String,

    /// Body of the requests to --resource-url, sent as application/json.
    #[arg(long, value_name = "JSON")]
    pub resource_body: Option<String>,

    /// Resource identifier of --resource-url (RFC 9728 §1.2), such as
    /// http://127.0.0.1:8080/v1. When given, every authorization request sends
    /// it as the resource parameter (RFC 8707), as MCP clients do. By default
    /// it is taken from the well-known resource_metadata URL in the resource's
    /// 401 challenge, else from the resource URL's origin and first path segment.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_RESOURCE", value_name = "URI")]
    pub resource: Option<String>,

    /// URL of a second protected resource with its own audience, for the
    /// audience restriction checks, which are skipped without it.
    #[arg(
        long,
        env = "PORTCULLIS_CONFORMANCE_OTHER_RESOURCE_URL",
        value_name = "URL"
    )]
    pub other_resource_url: Option<String>,

    /// Resource identifier of --other-resource-url, derived like --resource when absent.
    #[arg(
        long,
        env = "PORTCULLIS_CONFORMANCE_OTHER_RESOURCE",
        value_name = "URI"
    )]
    pub other_resource: Option<String>,

    /// Scope that --other-resource-url requires. By default it is the scope its
    /// 401 challenge names, else the scope requested for the first resource.
    #[arg(long, env = "PORTCULLIS_CONFORMANCE_OTHER_RESOURCE_SCOPE")]
    pub other_resource_scope: Option<String>,

    /// HTTP method of the requests to --other-resource-url.
    #[arg(long, default_value = "GET", value_name = "METHOD")]
    pub other_resource_method: String,

    /// Body of the requests to --other-resource-url, sent as application/json.
    #[arg(long, value_name = "JSON")]
    pub other_resource_body: Option<String>,

    /// Authorization endpoint path under the issuer, or an absolute URL; used
    /// instead of the metadata value. Without metadata the default is /oauth/authorize.
    #[arg(long, value_name = "PATH")]
    pub authorize_path: Option<String>,

    /// Token endpoint path or URL; without metadata the default is /oauth/token.
    #[arg(long, value_name = "PATH")]
    pub token_path: Option<String>,

    /// Revocation endpoint path or URL; without metadata the default is /oauth/revoke.
    #[arg(long, value_name = "PATH")]
    pub revoke_path: Option<String>,

    /// Introspection endpoint path or URL; without metadata the default is /oauth/introspect.
    #[arg(long, value_name = "PATH")]
    pub introspect_path: Option<String>,

    /// Registration endpoint path or URL; without metadata the default is /oauth/register.
    #[arg(long, value_name = "PATH")]
    pub register_path: Option<String>,

    /// Name of the user name input on the login form.
    #[arg(long, default_value = "username")]
    pub username_field: String,

    /// Name of the password input on the login form.
    #[arg(long, default_value = "password")]
    pub password_field: String,

    /// Name of the consent decision control on the form.
    #[arg(long, default_value = "decision")]
    pub decision_field: String,

    /// Value of the decision control that approves the request.
    #[arg(long, default_value = "approve")]
    pub approve_value: String,

    /// Value of the decision control that denies the request.
    #[arg(long, default_value = "deny")]
    pub deny_value: String,

    /// Run only the checks whose id starts with one of these prefixes
    /// (comma-separated or repeated), such as `authorize.` or `pkce.wrong-verifier`.
    #[arg(long, value_delimiter = ',', value_name = "PREFIX")]
    pub only: Vec<String>,

    /// Require an https issuer and https endpoint URLs even on a loopback host.
    #[arg(long)]
    pub require_https: bool,

    /// The client has exactly one registered redirect URI, so a request that
    /// leaves out redirect_uri must succeed.
    #[arg(long)]
    pub single_redirect_uri: bool,

    /// Authorization code lifetime in seconds (at most 600): the kit waits this
    /// long plus one second and checks that the code no longer redeems.
    #[arg(long, value_name = "SECONDS")]
    pub code_lifetime: Option<u64>,

    /// The `id` of the element that marks a dynamically registered client as
    /// unverified on the consent page. The marker check is skipped without it.
    #[arg(long, value_name = "ID")]
    pub unverified_marker_id: Option<String>,

    /// Dynamic registrations the server allows per source address in its rate
    /// limit window (at most 59): the kit sends one more and expects 429. It runs
    /// after the other checks that register, because the server then refuses
    /// registrations until the window ends.
    #[arg(long, value_name = "N")]
    pub registration_limit: Option<u32>,

    /// Send 50 wrong client secrets to check throttling, then check that
    /// another client still gets tokens. On a server that throttles, this
    /// locks the test client out for a while (one minute on the FLTR example
    /// server). So these checks run last and only when asked for, and a run
    /// within that time skips the checks that need the test client.
    #[arg(long)]
    pub brute_force: bool,

    /// Time limit for each HTTP request, in seconds.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS, value_name = "SECONDS")]
    pub timeout: u64,
}

impl Config {
    /// Creates a configuration with the given server, client and user, and every
    /// other field at its default.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Option<&str>,
        redirect_uri: impl Into<String>,
        username: impl Into<String>,
        password: &str,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.map(Secret::new),
            redirect_uri: redirect_uri.into(),
            username: username.into(),
            password: Secret::new(password),
            scope: None,
            public_client_id: None,
            public_redirect_uri: None,
            resource_url: None,
            resource_scope: DEFAULT_RESOURCE_SCOPE.to_owned(),
            resource_method: "GET".to_owned(),
            resource_body: None,
            resource: None,
            other_resource_url: None,
            other_resource: None,
            other_resource_scope: None,
            other_resource_method: "GET".to_owned(),
            other_resource_body: None,
            authorize_path: None,
            token_path: None,
            revoke_path: None,
            introspect_path: None,
            register_path: None,
            username_field: "username".to_owned(),
            password_field: "password".to_owned(),
            decision_field: "decision".to_owned(),
            approve_value: "approve".to_owned(),
            deny_value: "deny".to_owned(),
            only: Vec::new(),
            require_https: false,
            single_redirect_uri: false,
            code_lifetime: None,
            unverified_marker_id: None,
            registration_limit: None,
            brute_force: false,
            timeout: DEFAULT_TIMEOUT_SECS,
        }
    }

    /// Returns whether the check `id` is selected by [`Config::only`].
    pub fn selects(&self, id: &str) -> bool {
        self.only.is_empty()
            || self
                .only
                .iter()
                .any(|prefix| !prefix.is_empty() && id.starts_with(prefix.as_str()))
    }

    /// Returns the scope to request: [`Config::scope`], else the resource scope.
    /// `None` means no scope parameter.
    pub(crate) fn requested_scope(&self) -> Option<&str> {
        let scope = self.scope.as_deref().unwrap_or(&self.resource_scope).trim();
        if scope.is_empty() { None } else { Some(scope) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn secret_debug_is_masked() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
        let config = Config::new(
            "http://127.0.0.1:8080",
            "app",
            Some("s3cret"),
            "http://127.0.0.1/cb",
            "alice",
            "pw-123",
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"));
        assert!(!debug.contains("pw-123"));
    }

    #[test]
    fn flags_match_constructor_defaults() {
        let parsed = Cli::try_parse_from([
            "kit",
            "--issuer",
            "http://127.0.0.1:8080",
            "--client-id",
            "app",
            "--redirect-uri",
            "http://127.0.0.1/cb",
            "--username",
            "alice",
            "--password",
            "pw",
        ]);
        let config = match parsed {
            Ok(cli) => cli.config,
            Err(e) => panic!("parse failed: {e}"),
        };
        let built = Config::new(
            "http://127.0.0.1:8080",
            "app",
            None,
            "http://127.0.0.1/cb",
            "alice",
            "pw",
        );
        assert_eq!(format!("{config:?}"), format!("{built:?}"));
    }

    #[test]
    fn only_filters_by_prefix() {
        let mut config = Config::new(
            "http://127.0.0.1",
            "a",
            None,
            "http://127.0.0.1/cb",
            "u",
            "p",
        );
        assert!(config.selects("pkce.wrong-verifier"));
        config.only = vec!["authorize.".into(), "pkce.wrong".into()];
        assert!(config.selects("authorize.state-echoed"));
        assert!(config.selects("pkce.wrong-verifier"));
        assert!(!config.selects("pkce.plain-rejected"));
        assert!(!config.selects("token.code-single-use"));
    }

    #[test]
    fn requested_scope_defaults_to_resource_scope() {
        let mut config = Config::new(
            "http://127.0.0.1",
            "a",
            None,
            "http://127.0.0.1/cb",
            "u",
            "p",
        );
        assert_eq!(config.requested_scope(), Some("datasets:read"));
        config.scope = Some("mcp:query datasets:read".into());
        assert_eq!(config.requested_scope(), Some("mcp:query datasets:read"));
        config.scope = Some(String::new());
        assert_eq!(config.requested_scope(), None);
    }
}
