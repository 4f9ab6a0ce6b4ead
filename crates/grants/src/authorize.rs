use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_pkce::{CodeChallenge, CodeChallengeMethod, PkceError};
use portcullis_scopes::{ScopeCatalog, ScopeError, ScopeSet};
use thiserror::Error;
use url::Url;

use crate::{
    Client, CodeRecord, GrantId, Params, ParamsError, ResourceError, ResourceId, Resources,
    Timestamp, UserId, redirect_uri_matches,
};

/// Maximum code lifetime this crate issues, in seconds (OAuth 2.1 §4.1.2 recommends 10 minutes).
pub const MAX_CODE_LIFETIME: u64 = 600;

/// Cause of a failed authorization request.
///
/// [`AuthorizeError::shows_error_page`] returns whether the error may be sent to
/// the client's redirect URI or must be shown on the server's own page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// The query or form could not be parsed.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// No `client_id`.
    #[error("client_id is missing")]
    MissingClientId,
    /// `client_id` sent twice.
    #[error("client_id is repeated")]
    RepeatedClientId,
    /// No client has this `client_id`.
    #[error("client is not registered")]
    UnknownClient,
    /// `redirect_uri` sent twice.
    #[error("redirect_uri is repeated")]
    RepeatedRedirectUri,
    /// No `redirect_uri`, and the client registered more than one (OAuth 2.1 §2.3.2).
    #[error("redirect_uri is missing and the client registered several")]
    MissingRedirectUri,
    /// `redirect_uri` matches no registered URI.
    #[error("redirect_uri does not match a registered redirect URI")]
    MismatchedRedirectUri,
    /// A parameter other than `client_id` or `redirect_uri` was sent twice.
    #[error("parameter {0} is repeated")]
    Repeated(&'static str),
    /// `state` has a character outside printable ASCII (RFC 6749 Appendix A.5).
    #[error("state has a character outside printable ASCII")]
    InvalidState,
    /// No `response_type`.
    #[error("response_type is missing")]
    MissingResponseType,
    /// A `response_type` other than `code`.
    #[error("response_type is not supported")]
    UnsupportedResponseType,
    /// No `code_challenge`; PKCE is required for every client (OAuth 2.1 §4.1.1).
    #[error("code_challenge is missing")]
    MissingCodeChallenge,
    /// The PKCE method or challenge was rejected.
    #[error(transparent)]
    Pkce(#[from] PkceError),
    /// The scope is malformed or unknown.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The scope is registered but not allowed for this client, or empty.
    #[error("scope is not allowed for this client")]
    ScopeNotAllowed,
    /// The `resource` was rejected (RFC 8707 §2).
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The user denied the request.
    #[error("the user denied the request")]
    AccessDenied,
}

impl AuthorizeError {
    /// Returns `true` when the client or redirect URI is not verified, so the
    /// error must be shown on the server's page and never redirected (RFC 6749 §4.1.2.1).
    pub fn shows_error_page(&self) -> bool {
        matches!(
            self,
            Self::Params(_)
                | Self::MissingClientId
                | Self::RepeatedClientId
                | Self::UnknownClient
                | Self::RepeatedRedirectUri
                | Self::MissingRedirectUri
                | Self::MismatchedRedirectUri
        )
    }

    /// Maps the cause to its wire error with a fixed description.
    pub fn to_oauth(&self) -> OAuthError {
        use ErrorCode::{
            AccessDenied, InvalidClient, InvalidRequest, InvalidScope, InvalidTarget,
            UnsupportedResponseType,
        };
        let (code, description) = match self {
            Self::Params(cause) => (InvalidRequest, cause.description()),
            Self::MissingClientId => (InvalidRequest, "client_id is missing"),
            Self::RepeatedClientId => (InvalidRequest, "client_id is repeated"),
            Self::UnknownClient => (InvalidClient, "the client is not registered"),
            Self::RepeatedRedirectUri => (InvalidRequest, "redirect_uri is repeated"),
            Self::MissingRedirectUri => (
                InvalidRequest,
                "redirect_uri is required because the client registered several",
            ),
            Self::MismatchedRedirectUri => (
                InvalidRequest,
                "redirect_uri does not match a registered redirect URI",
            ),
            Self::Repeated(name) => (InvalidRequest, crate::params::repeated_description(name)),
            Self::InvalidState => (InvalidRequest, "state must be printable ASCII characters"),
            Self::MissingResponseType => (InvalidRequest, "response_type is missing"),
            Self::UnsupportedResponseType => (
                UnsupportedResponseType,
                "only response_type=code is supported",
            ),
            Self::MissingCodeChallenge => (
                InvalidRequest,
                "code_challenge is required (PKCE with S256)",
            ),
            Self::Pkce(PkceError::MissingMethod) => (
                InvalidRequest,
                "code_challenge_method is required and must be S256",
            ),
            Self::Pkce(PkceError::PlainNotSupported) => (
                InvalidRequest,
                "code_challenge_method plain is not supported, use S256",
            ),
            Self::Pkce(PkceError::UnsupportedMethod) => (
                InvalidRequest,
                "code_challenge_method is not supported, use S256",
            ),
            Self::Pkce(PkceError::MalformedChallenge) => (
                InvalidRequest,
                "code_challenge must be 43 base64url characters (S256)",
            ),
            Self::Pkce(PkceError::VerifierLength | PkceError::VerifierCharset) => {
                (InvalidRequest, "code_challenge is malformed")
            }
            Self::Pkce(_) => (InvalidRequest, "code_challenge is invalid"),
            Self::Scope(ScopeError::Malformed) => {
                (InvalidScope, "the requested scope is malformed")
            }
            Self::Scope(ScopeError::Unknown) => {
                (InvalidScope, "the requested scope is invalid or unknown")
            }
            Self::Scope(_) => (InvalidScope, "the requested scope is invalid"),
            Self::ScopeNotAllowed => (
                InvalidScope,
                "the requested scope is not allowed for this client",
            ),
            Self::Resource(ResourceError::Several) => {
                (InvalidTarget, "only one resource may be requested")
            }
            Self::Resource(ResourceError::NotAbsolute) => {
                (InvalidTarget, "resource must be an absolute URI")
            }
            Self::Resource(ResourceError::Fragment) => {
                (InvalidTarget, "resource must not have a fragment")
            }
            Self::Resource(ResourceError::Unknown) => (
                InvalidTarget,
                "resource is not served by this authorization server",
            ),
            Self::AccessDenied => (AccessDenied, "the user denied the request"),
        };
        OAuthError::new(code, description)
    }
}

/// Reads the `client_id` of an authorization request.
///
/// # Errors
///
/// [`AuthorizeError::MissingClientId`] or [`AuthorizeError::RepeatedClientId`].
pub fn client_id<'p>(params: &'p Params<'_>) -> Result<&'p str, AuthorizeError> {
    params
        .get("client_id")
        .map_err(|_| AuthorizeError::RepeatedClientId)?
        .ok_or(AuthorizeError::MissingClientId)
}

/// The redirect URI an authorization response goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectTarget {
    /// The URI as the client sent it (with its loopback port), or the one registered.
    pub uri: String,
    /// Whether the request carried `redirect_uri`.
    pub sent: bool,
}

/// Resolves the redirect URI of a request for a known client.
///
/// # Errors
///
/// [`AuthorizeError::RepeatedRedirectUri`], [`AuthorizeError::MissingRedirectUri`]
/// or [`AuthorizeError::MismatchedRedirectUri`]; each must be shown on the error page.
pub fn resolve_redirect(
    client: &Client,
    params: &Params<'_>,
) -> Result<RedirectTarget, AuthorizeError> {
    let requested = params
        .get("redirect_uri")
        .map_err(|_| AuthorizeError::RepeatedRedirectUri)?;
    match requested {
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|registered| redirect_uri_matches(registered, uri)) =>
        {
            Ok(RedirectTarget {
                uri: uri.to_owned(),
                sent: true,
            })
        }
        Some(_) => Err(AuthorizeError::MismatchedRedirectUri),
        None => match client.redirect_uris.as_slice() {
            [only] => Ok(RedirectTarget {
                uri: only.clone(),
                sent: false,
            }),
            _ => Err(AuthorizeError::MissingRedirectUri),
        },
    }
}

/// Reads `state` for echoing in an error redirect; a repeated `state`, or one
/// that is not printable ASCII, is not echoed.
pub fn state(params: &Params<'_>) -> Option<String> {
    params
        .get("state")
        .ok()
        .flatten()
        .filter(|state| is_vschar(state))
        .map(str::to_owned)
}

/// Checks the `state` syntax of RFC 6749 Appendix A.5: `%x20-7E` characters.
fn is_vschar(value: &str) -> bool {
    value.bytes().all(|byte| (0x20..=0x7E).contains(&byte))
}

/// An authorization request whose client, redirect URI and parameters are valid,
/// waiting for the user's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatedAuthorization {
    /// The client.
    pub client_id: String,
    /// Where the response goes.
    pub redirect: RedirectTarget,
    /// The `state` to echo, if sent.
    pub state: Option<String>,
    /// The PKCE challenge.
    pub challenge: CodeChallenge,
    /// The requested scope, within the client's allowed scope.
    pub scope: ScopeSet,
    /// The resource the tokens will be for.
    pub resource: ResourceId,
}

/// What the server needs to check the parameters of an authorization request.
#[derive(Clone, Copy, Debug)]
pub struct AuthorizationPolicy<'a> {
    /// The registered scopes.
    pub catalog: &'a ScopeCatalog,
    /// The resources tokens can be issued for.
    pub resources: &'a Resources,
}

/// Validates the parameters after the client and redirect URI are known.
///
/// A missing `scope` means the client's registered scope (RFC 6749 §3.3).
///
/// # Errors
///
/// Every [`AuthorizeError`] here is redirectable to `redirect`.
pub fn validate_authorization(
    params: &Params<'_>,
    client: &Client,
    redirect: RedirectTarget,
    policy: AuthorizationPolicy<'_>,
) -> Result<ValidatedAuthorization, AuthorizeError> {
    let get = |name| params.get(name).map_err(|_| AuthorizeError::Repeated(name));
    match get("response_type")? {
        None => return Err(AuthorizeError::MissingResponseType),
        Some("code") => {}
        Some(_) => return Err(AuthorizeError::UnsupportedResponseType),
    }
    let state = get("state")?.map(str::to_owned);
    if state.as_deref().is_some_and(|state| !is_vschar(state)) {
        return Err(AuthorizeError::InvalidState);
    }
    let challenge = get("code_challenge")?.ok_or(AuthorizeError::MissingCodeChallenge)?;
    let method = CodeChallengeMethod::parse(get("code_challenge_method")?)?;
    let challenge = CodeChallenge::parse(challenge, method)?;
    let scope = match get("scope")? {
        Some(value) => policy.catalog.parse(value)?,
        None => client.scope,
    };
    if scope.is_empty() || !scope.is_subset_of(client.scope) {
        return Err(AuthorizeError::ScopeNotAllowed);
    }
    if params.count("resource") > 1 {
        return Err(ResourceError::Several.into());
    }
    let resource = policy.resources.resolve(get("resource")?)?;
    Ok(ValidatedAuthorization {
        client_id: client.id.clone(),
        redirect,
        state,
        challenge,
        scope,
        resource,
    })
}

impl ValidatedAuthorization {
    /// Records the user's approval of `scope` (at most the requested scope) as a code.
    ///
    /// The lifetime is capped at [`MAX_CODE_LIFETIME`].
    pub fn approve(
        self,
        user: UserId,
        grant: GrantId,
        scope: ScopeSet,
        now: Timestamp,
        lifetime: u64,
    ) -> CodeRecord {
        CodeRecord {
            grant,
            client_id: self.client_id,
            redirect_uri: self.redirect.uri,
            redirect_uri_sent: self.redirect.sent,
            challenge: self.challenge,
            scope: scope.intersection(self.scope),
            resource: self.resource,
            user,
            issued_at: now,
            expires_at: now.plus(lifetime.min(MAX_CODE_LIFETIME)),
        }
    }
}

/// Builds the success redirect: `code`, `state` when sent, and `iss` (RFC 9207 §2),
/// appended to the redirect URI's existing query (OAuth 2.1 §4.1.2).
///
/// # Errors
///
/// [`url::ParseError`] if `redirect_uri` is not absolute; validated targets always are.
pub fn success_location(
    redirect_uri: &str,
    code: &str,
    state: Option<&str>,
    issuer: &str,
) -> Result<String, url::ParseError> {
    let mut url = Url::parse(redirect_uri)?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("code", code);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClientOrigin, SecretHash};

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn fixture() -> (Client, ScopeCatalog, Resources) {
        let mut catalog = ScopeCatalog::new();
        let read = catalog.register("datasets:read", "read").unwrap();
        let write = catalog.register("datasets:write", "write").unwrap();
        catalog.register("account:read", "account").unwrap();
        let client = Client {
            id: "conf".into(),
            name: "Confidential".into(),
            secret_hash: Some(SecretHash::of("s3cret")),
            redirect_uris: vec!["https://app.example/cb".into()],
            scope: read.union(write),
            origin: ClientOrigin::Administrator,
            created_at: Timestamp(0),
        };
        (
            client,
            catalog,
            Resources::new("https://as.example/v1").unwrap(),
        )
    }

    fn validate(query: &str) -> Result<ValidatedAuthorization, AuthorizeError> {
        let (client, catalog, resources) = fixture();
        let params = Params::parse(query.as_bytes()).unwrap();
        let redirect = resolve_redirect(&client, &params)?;
        validate_authorization(
            &params,
            &client,
            redirect,
            AuthorizationPolicy {
                catalog: &catalog,
                resources: &resources,
            },
        )
    }

    fn base() -> String {
        format!(
            "response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge={CHALLENGE}&code_challenge_method=S256&state=xyz"
        )
    }

    #[test]
    fn valid_request_defaults_scope_and_resource() {
        let validated = validate(&base()).unwrap();
        assert_eq!(validated.scope.len(), 2);
        assert_eq!(validated.resource, ResourceId(0));
        assert_eq!(validated.state.as_deref(), Some("xyz"));
        assert!(validated.redirect.sent);
    }

    #[test]
    fn each_bad_parameter_has_its_cause() {
        let cases = [
            (
                base().replace("response_type=code&", ""),
                AuthorizeError::MissingResponseType,
            ),
            (
                base().replace("response_type=code", "response_type=token"),
                AuthorizeError::UnsupportedResponseType,
            ),
            (
                base().replace(&format!("code_challenge={CHALLENGE}&"), ""),
                AuthorizeError::MissingCodeChallenge,
            ),
            (
                base().replace("S256", "plain"),
                AuthorizeError::Pkce(PkceError::PlainNotSupported),
            ),
            (
                base().replace("&code_challenge_method=S256", ""),
                AuthorizeError::Pkce(PkceError::MissingMethod),
            ),
            (
                base().replace(CHALLENGE, &CHALLENGE[..42]),
                AuthorizeError::Pkce(PkceError::MalformedChallenge),
            ),
            (
                format!("{}&scope=datasets:read+nonsense:x", base()),
                AuthorizeError::Scope(ScopeError::Unknown),
            ),
            (
                format!("{}&scope=account:read", base()),
                AuthorizeError::ScopeNotAllowed,
            ),
            (
                format!("{}&scope=a&scope=b", base()),
                AuthorizeError::Repeated("scope"),
            ),
            (
                format!(
                    "{}&resource=https://x.example/&resource=https://y.example/",
                    base()
                ),
                AuthorizeError::Resource(ResourceError::Several),
            ),
            (
                format!("{}&resource=rs.example", base()),
                AuthorizeError::Resource(ResourceError::NotAbsolute),
            ),
        ];
        for (query, expected) in cases {
            let error = validate(&query).unwrap_err();
            assert_eq!(error, expected, "{query}");
            assert!(!error.shows_error_page(), "{query}");
        }
    }

    #[test]
    fn state_must_be_printable_ascii() {
        // RFC 6749 Appendix A.5: state is VSCHAR, so a value the server would
        // have to alter to send back is refused, and not echoed.
        for state in ["%E2%82%AC", "a%0Ab", "%7F"] {
            let query = base().replace("state=xyz", &format!("state={state}"));
            assert_eq!(
                validate(&query).unwrap_err(),
                AuthorizeError::InvalidState,
                "{state}"
            );
            let params = Params::parse(query.as_bytes()).unwrap();
            assert_eq!(super::state(&params), None, "{state} is not echoed");
        }
        let printable = base().replace("state=xyz", "state=a%20b%2Bc%2F~");
        assert_eq!(
            validate(&printable).unwrap().state.as_deref(),
            Some("a b+c/~")
        );
    }

    #[test]
    fn unverified_redirect_errors_show_the_error_page() {
        let mismatched = base().replace("app.example%2Fcb", "app.example%2Fcb%2F");
        assert_eq!(
            validate(&mismatched).unwrap_err(),
            AuthorizeError::MismatchedRedirectUri
        );
        let repeated = format!("{}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", base());
        assert_eq!(
            validate(&repeated).unwrap_err(),
            AuthorizeError::RepeatedRedirectUri
        );
        assert!(AuthorizeError::MismatchedRedirectUri.shows_error_page());
        let params = Params::parse(b"client_id=a&client_id=b").unwrap();
        assert_eq!(client_id(&params), Err(AuthorizeError::RepeatedClientId));
    }

    #[test]
    fn omitted_redirect_uses_the_single_registered_one() {
        let validated =
            validate(&base().replace("redirect_uri=https%3A%2F%2Fapp.example%2Fcb&", "")).unwrap();
        assert_eq!(validated.redirect.uri, "https://app.example/cb");
        assert!(!validated.redirect.sent);
    }

    #[test]
    fn approval_narrows_scope_and_caps_lifetime() {
        let (_, catalog, _) = fixture();
        let validated = validate(&base()).unwrap();
        let read = catalog.parse("datasets:read account:read").unwrap();
        let code = validated.approve(UserId(1), GrantId([0; 16]), read, Timestamp(100), 3600);
        assert_eq!(catalog.format(code.scope), "datasets:read");
        assert_eq!(code.expires_at, Timestamp(700));
    }

    #[test]
    fn success_location_keeps_query_and_adds_iss() {
        let location = success_location(
            "https://app.example/cb?x=1",
            "abc",
            Some("a b"),
            "https://as",
        )
        .unwrap();
        assert_eq!(
            location,
            "https://app.example/cb?x=1&code=abc&state=a+b&iss=https%3A%2F%2Fas"
        );
    }

    #[test]
    fn every_error_description_is_rfc_ascii() {
        let errors = [
            AuthorizeError::MissingClientId,
            AuthorizeError::UnknownClient,
            AuthorizeError::MissingRedirectUri,
            AuthorizeError::Pkce(PkceError::PlainNotSupported),
            AuthorizeError::Resource(ResourceError::Unknown),
            AuthorizeError::AccessDenied,
        ];
        for error in errors {
            let description = error.to_oauth().description();
            assert!(
                description
                    .bytes()
                    .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
            );
        }
    }
}
