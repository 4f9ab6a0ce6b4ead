use base64ct::{Base64, Encoding};
use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_pkce::check_unreserved;
use portcullis_scopes::{ScopeCatalog, ScopeError, ScopeSet};
use thiserror::Error;

use crate::{
    Client, CodeRecord, Grant, Params, ParamsError, ResourceError, ResourceId, Resources, Timestamp,
};

/// Cause of a failed token, revocation or introspection request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The form could not be parsed.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A parameter was sent twice (OAuth 2.1 §3.2).
    #[error("parameter {0} is repeated")]
    Repeated(&'static str),
    /// A required parameter is missing.
    #[error("parameter {0} is missing")]
    Missing(&'static str),
    /// The `grant_type` is not supported; the password and implicit grants never are.
    #[error("grant_type is not supported")]
    UnsupportedGrantType,
    /// The client used more than one authentication method (OAuth 2.1 §2.4).
    #[error("more than one client authentication method was used")]
    SeveralAuthMethods,
    /// The `Authorization` header is not valid Basic credentials.
    #[error("Authorization header is malformed")]
    MalformedBasic,
    /// The request carries no client credentials at all, not even a `client_id`
    /// (RFC 6749 §5.2 lists this under `invalid_client`).
    #[error("no client credentials were sent")]
    NoClientCredentials,
    /// The client is unknown, or its secret is missing or wrong.
    #[error("client authentication failed")]
    ClientAuthentication,
    /// The client failed authentication too often recently and is locked out for a while.
    #[error("client authentication is throttled after repeated failures")]
    Throttled,
    /// The client may not use this grant type.
    #[error("client is not allowed this grant type")]
    UnauthorizedClient,
    /// The `code_verifier` is not 43 to 128 unreserved characters.
    #[error("code_verifier is malformed")]
    MalformedVerifier,
    /// The code is unknown, or was purged after expiring.
    #[error("authorization code is unknown")]
    UnknownCode,
    /// The code expired.
    #[error("authorization code has expired")]
    ExpiredCode,
    /// The code was redeemed before.
    #[error("authorization code was already used")]
    UsedCode,
    /// The code was issued to another client.
    #[error("authorization code was issued to another client")]
    CodeClientMismatch,
    /// The `redirect_uri` differs from the authorization request's.
    #[error("redirect_uri does not match the authorization request")]
    RedirectMismatch,
    /// The `code_verifier` does not hash to the code's challenge.
    #[error("code_verifier does not match the code_challenge")]
    VerifierMismatch,
    /// The refresh token is unknown or expired.
    #[error("refresh token is invalid or expired")]
    UnknownRefreshToken,
    /// The refresh token was rotated before; the grant is revoked.
    #[error("refresh token was already used")]
    ReusedRefreshToken,
    /// The refresh token was issued to another client.
    #[error("refresh token was issued to another client")]
    RefreshClientMismatch,
    /// The requested scope is malformed or unknown.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The refresh requests a scope the grant does not contain (OAuth 2.1 §4.3.1).
    #[error("requested scope exceeds the granted scope")]
    ScopeWidened,
    /// The `resource` was rejected (RFC 8707 §2).
    #[error(transparent)]
    Resource(#[from] ResourceError),
    /// The `resource` differs from the one the grant is bound to.
    #[error("resource differs from the granted resource")]
    ResourceMismatch,
}

impl TokenError {
    /// Maps the cause to its wire error with a fixed description.
    pub fn to_oauth(&self) -> OAuthError {
        use ErrorCode::{InvalidClient, InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget};
        let (code, description) = match self {
            Self::Params(cause) => (InvalidRequest, cause.description()),
            Self::Repeated(name) => (InvalidRequest, crate::params::repeated_description(name)),
            Self::Missing("grant_type") => (InvalidRequest, "grant_type is missing"),
            Self::Missing("code") => (InvalidRequest, "code is missing"),
            Self::Missing("code_verifier") => (InvalidRequest, "code_verifier is missing"),
            Self::Missing("refresh_token") => (InvalidRequest, "refresh_token is missing"),
            Self::Missing("token") => (InvalidRequest, "token is missing"),
            Self::Missing("client_id") => (InvalidRequest, "client_id is missing"),
            Self::Missing(_) => (InvalidRequest, "a required parameter is missing"),
            Self::UnsupportedGrantType => (
                ErrorCode::UnsupportedGrantType,
                "the grant_type is not supported",
            ),
            Self::SeveralAuthMethods => (
                InvalidRequest,
                "use exactly one client authentication method",
            ),
            Self::MalformedBasic => (InvalidClient, "the Basic credentials are malformed"),
            Self::ClientAuthentication => (InvalidClient, "client authentication failed"),
            Self::NoClientCredentials => (
                InvalidClient,
                "client authentication is missing: send client_id, and client_secret if the client has one",
            ),
            Self::Throttled => (
                ErrorCode::SlowDown,
                "too many failed client authentications, retry in a minute",
            ),
            Self::UnauthorizedClient => (
                ErrorCode::UnauthorizedClient,
                "the client is not allowed to use this grant type",
            ),
            Self::MalformedVerifier => (
                InvalidRequest,
                "code_verifier must be 43 to 128 unreserved characters",
            ),
            Self::UnknownCode | Self::ExpiredCode | Self::UsedCode => (
                InvalidGrant,
                "the authorization code is invalid, expired or already used",
            ),
            Self::CodeClientMismatch => (
                InvalidGrant,
                "the authorization code was issued to another client",
            ),
            Self::RedirectMismatch => (
                InvalidGrant,
                "redirect_uri does not match the authorization request",
            ),
            Self::VerifierMismatch => (
                InvalidGrant,
                "code_verifier does not match the code_challenge",
            ),
            Self::UnknownRefreshToken | Self::ReusedRefreshToken => (
                InvalidGrant,
                "the refresh token is invalid, expired or revoked",
            ),
            Self::RefreshClientMismatch => (
                InvalidGrant,
                "the refresh token was issued to another client",
            ),
            Self::Scope(ScopeError::Malformed) => {
                (InvalidScope, "the requested scope is malformed")
            }
            Self::Scope(_) => (InvalidScope, "the requested scope is invalid or unknown"),
            Self::ScopeWidened => (
                InvalidScope,
                "the requested scope exceeds the granted scope",
            ),
            Self::Resource(ResourceError::Several) => {
                (InvalidTarget, "only one resource may be requested")
            }
            Self::Resource(_) => (InvalidTarget, "the resource is invalid or not served here"),
            Self::ResourceMismatch => (
                InvalidTarget,
                "the resource differs from the granted resource",
            ),
        };
        OAuthError::new(code, description)
    }
}

/// Client authentication method of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic,
    /// `client_id` and `client_secret` in the form (`client_secret_post`).
    Post,
    /// `client_id` only: a public client (`none`).
    None,
}

/// Client credentials read from a token, revocation or introspection request.
///
/// `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The `client_id`.
    pub client_id: String,
    secret: Option<String>,
    /// The method used.
    pub method: AuthMethod,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Reads credentials from the `Authorization` header and the form body.
    ///
    /// Basic credentials are base64, then form-decoded (RFC 6749 §2.3.1). A
    /// `client_id` in the form alongside Basic must name the same client.
    /// Credentials in the URI query are never read (OAuth 2.1 §2.4.1).
    ///
    /// # Errors
    ///
    /// [`TokenError::SeveralAuthMethods`], [`TokenError::MalformedBasic`],
    /// [`TokenError::NoClientCredentials`] for no `client_id`, or [`TokenError::Repeated`].
    pub fn read(authorization: Option<&str>, form: &Params<'_>) -> Result<Self, TokenError> {
        let form_id = form
            .get("client_id")
            .map_err(|_| TokenError::Repeated("client_id"))?;
        let form_secret = form
            .get("client_secret")
            .map_err(|_| TokenError::Repeated("client_secret"))?;
        let basic = authorization.and_then(|value| {
            let (scheme, rest) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
        match basic {
            Some(encoded) => {
                if form_secret.is_some() {
                    return Err(TokenError::SeveralAuthMethods);
                }
                let (client_id, secret) = decode_basic(encoded)?;
                if form_id.is_some_and(|id| id != client_id) {
                    return Err(TokenError::SeveralAuthMethods);
                }
                Ok(Self {
                    client_id,
                    secret: Some(secret),
                    method: AuthMethod::Basic,
                })
            }
            None => {
                let client_id = form_id.ok_or(TokenError::NoClientCredentials)?.to_owned();
                let secret = form_secret.map(str::to_owned);
                let method = if secret.is_some() {
                    AuthMethod::Post
                } else {
                    AuthMethod::None
                };
                Ok(Self {
                    client_id,
                    secret,
                    method,
                })
            }
        }
    }

    /// Authenticates these credentials as `client` (OAuth 2.1 §2.4).
    ///
    /// A confidential client must present its secret; a public client must not
    /// present one. The secret check is constant time.
    ///
    /// # Errors
    ///
    /// [`TokenError::ClientAuthentication`].
    pub fn authenticate(&self, client: &Client) -> Result<(), TokenError> {
        let authenticated = match (&client.secret_hash, &self.secret) {
            (Some(hash), Some(secret)) => hash.matches(secret),
            (None, None) => true,
            _ => false,
        };
        if authenticated && client.id == self.client_id {
            Ok(())
        } else {
            Err(TokenError::ClientAuthentication)
        }
    }
}

fn decode_basic(encoded: &str) -> Result<(String, String), TokenError> {
    let decoded = Base64::decode_vec(encoded).map_err(|_| TokenError::MalformedBasic)?;
    let text = String::from_utf8(decoded).map_err(|_| TokenError::MalformedBasic)?;
    let (id, secret) = text.split_once(':').ok_or(TokenError::MalformedBasic)?;
    let decode = |part: &str| -> Result<String, TokenError> {
        let mut pairs = url::form_urlencoded::parse(part.as_bytes());
        match (pairs.next(), pairs.next()) {
            (Some((value, empty)), None) if empty.is_empty() && !part.contains('=') => {
                Ok(value.into_owned())
            }
            (None, None) => Ok(String::new()),
            _ => Err(TokenError::MalformedBasic),
        }
    };
    let id = decode(id)?;
    if id.is_empty() {
        return Err(TokenError::MalformedBasic);
    }
    Ok((id, decode(secret)?))
}

/// A token request with its grant-specific parameters (OAuth 2.1 §3.2.2).
#[derive(Clone, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    /// `grant_type=authorization_code` (OAuth 2.1 §4.1.3).
    AuthorizationCode {
        /// The code.
        code: &'a str,
        /// The `redirect_uri`, when the client sent one.
        redirect_uri: Option<&'a str>,
        /// The PKCE verifier.
        code_verifier: &'a str,
        /// The `resource`, when sent.
        resource: Option<&'a str>,
    },
    /// `grant_type=refresh_token` (OAuth 2.1 §4.3).
    RefreshToken {
        /// The refresh token.
        refresh_token: &'a str,
        /// The narrower scope asked for the new access token, when sent.
        scope: Option<&'a str>,
        /// The `resource`, when sent.
        resource: Option<&'a str>,
    },
}

impl std::fmt::Debug for TokenRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AuthorizationCode { .. } => f.write_str("TokenRequest::AuthorizationCode"),
            Self::RefreshToken { .. } => f.write_str("TokenRequest::RefreshToken"),
        }
    }
}

impl<'a> TokenRequest<'a> {
    /// Parses the grant-specific part of a token request.
    ///
    /// # Errors
    ///
    /// [`TokenError`] for a missing, repeated or unsupported parameter.
    pub fn parse(form: &'a Params<'a>) -> Result<Self, TokenError> {
        let get = |name| form.get(name).map_err(|_| TokenError::Repeated(name));
        let resource = if form.count("resource") > 1 {
            return Err(ResourceError::Several.into());
        } else {
            get("resource")?
        };
        match get("grant_type")? {
            Some("authorization_code") => {
                let code = get("code")?.ok_or(TokenError::Missing("code"))?;
                let code_verifier =
                    get("code_verifier")?.ok_or(TokenError::Missing("code_verifier"))?;
                check_unreserved(code_verifier).map_err(|_| TokenError::MalformedVerifier)?;
                Ok(Self::AuthorizationCode {
                    code,
                    redirect_uri: get("redirect_uri")?,
                    code_verifier,
                    resource,
                })
            }
            Some("refresh_token") => {
                let refresh_token =
                    get("refresh_token")?.ok_or(TokenError::Missing("refresh_token"))?;
                Ok(Self::RefreshToken {
                    refresh_token,
                    scope: get("scope")?,
                    resource,
                })
            }
            Some(_) => Err(TokenError::UnsupportedGrantType),
            None => Err(TokenError::Missing("grant_type")),
        }
    }
}

/// Checks that the presenter of a code is the client it was issued to and has
/// the PKCE verifier (OAuth 2.1 §4.1.3, RFC 7636 §4.6).
///
/// These are the checks a replayed code must pass before its grant is revoked:
/// a thief without the verifier or the client's credentials cannot revoke it.
///
/// # Errors
///
/// [`TokenError::CodeClientMismatch`] or [`TokenError::VerifierMismatch`].
pub fn check_code_possession(
    code: &CodeRecord,
    client_id: &str,
    code_verifier: &str,
) -> Result<(), TokenError> {
    if code.client_id != client_id {
        return Err(TokenError::CodeClientMismatch);
    }
    if !code.challenge.verify_str(code_verifier) {
        return Err(TokenError::VerifierMismatch);
    }
    Ok(())
}

/// Checks every binding of an unused code for redemption: client, verifier,
/// expiry, redirect URI and resource (OAuth 2.1 §4.1.3, RFC 8707 §2).
///
/// # Errors
///
/// The first [`TokenError`] found.
pub fn check_code_redemption(
    code: &CodeRecord,
    client_id: &str,
    request: &TokenRequest<'_>,
    resources: &Resources,
    now: Timestamp,
) -> Result<(), TokenError> {
    let TokenRequest::AuthorizationCode {
        code_verifier,
        redirect_uri,
        resource,
        ..
    } = request
    else {
        return Err(TokenError::UnsupportedGrantType);
    };
    check_code_possession(code, client_id, code_verifier)?;
    if now >= code.expires_at {
        return Err(TokenError::ExpiredCode);
    }
    // OAuth 2.1 §4.1.3 drops redirect_uri from the token request, but a value
    // that is sent must equal the authorization request's (RFC 6749 §4.1.3).
    if redirect_uri.is_some_and(|uri| uri != code.redirect_uri) {
        return Err(TokenError::RedirectMismatch);
    }
    check_resource(*resource, code.resource, resources)
}

/// Checks a refresh request against its grant and returns the new access token's scope.
///
/// A refresh may narrow the scope of the new access token, never widen it; the
/// grant keeps its scope (OAuth 2.1 §4.3.1, §4.3.3).
///
/// # Errors
///
/// [`TokenError::RefreshClientMismatch`], [`TokenError::Scope`],
/// [`TokenError::ScopeWidened`] or a resource error.
pub fn check_refresh(
    grant: &Grant,
    client_id: &str,
    request: &TokenRequest<'_>,
    catalog: &ScopeCatalog,
    resources: &Resources,
) -> Result<ScopeSet, TokenError> {
    let TokenRequest::RefreshToken {
        scope, resource, ..
    } = request
    else {
        return Err(TokenError::UnsupportedGrantType);
    };
    if grant.client_id != client_id {
        return Err(TokenError::RefreshClientMismatch);
    }
    check_resource(*resource, grant.resource, resources)?;
    let Some(scope) = scope else {
        return Ok(grant.scope);
    };
    let requested = catalog.parse(scope)?;
    if requested.is_empty() || !requested.is_subset_of(grant.scope) {
        return Err(TokenError::ScopeWidened);
    }
    Ok(requested)
}

fn check_resource(
    requested: Option<&str>,
    bound: ResourceId,
    resources: &Resources,
) -> Result<(), TokenError> {
    match requested {
        None => Ok(()),
        Some(value) if resources.resolve(Some(value))? == bound => Ok(()),
        Some(_) => Err(TokenError::ResourceMismatch),
    }
}

#[cfg(test)]
mod tests {
    use portcullis_pkce::CodeChallenge;

    use super::*;
    use crate::{ClientOrigin, GrantId, SecretHash, UserId};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn client(secret: Option<&str>) -> Client {
        Client {
            id: "conf".into(),
            name: "c".into(),
            secret_hash: secret.map(SecretHash::of),
            redirect_uris: vec!["https://app.example/cb".into()],
            scope: ScopeSet::from_bits(0b11),
            origin: ClientOrigin::Administrator,
            created_at: Timestamp(0),
        }
    }

    fn code() -> CodeRecord {
        CodeRecord {
            grant: GrantId([1; 16]),
            client_id: "conf".into(),
            redirect_uri: "https://app.example/cb".into(),
            redirect_uri_sent: true,
            challenge: CodeChallenge::parse(
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                portcullis_pkce::CodeChallengeMethod::S256,
            )
            .unwrap(),
            scope: ScopeSet::from_bits(0b11),
            resource: ResourceId(0),
            user: UserId(7),
            issued_at: Timestamp(100),
            expires_at: Timestamp(160),
        }
    }

    fn redeem(form: &str, now: u64) -> Result<(), TokenError> {
        let params = Params::parse(form.as_bytes()).unwrap();
        let request = TokenRequest::parse(&params)?;
        let resources = Resources::new("https://as.example/v1").unwrap();
        check_code_redemption(&code(), "conf", &request, &resources, Timestamp(now))
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let encoded = Base64::encode_string(b"my%20client:p%3Ass+word");
        let params = Params::parse(b"").unwrap();
        let credentials =
            ClientCredentials::read(Some(&format!("Basic {encoded}")), &params).unwrap();
        assert_eq!(credentials.client_id, "my client");
        assert_eq!(credentials.secret.as_deref(), Some("p:ss word"));
        assert_eq!(credentials.method, AuthMethod::Basic);
    }

    #[test]
    fn two_auth_methods_are_rejected() {
        let encoded = Base64::encode_string(b"conf:s3cret");
        let params = Params::parse(b"client_secret=s3cret").unwrap();
        let header = format!("Basic {encoded}");
        assert_eq!(
            ClientCredentials::read(Some(&header), &params),
            Err(TokenError::SeveralAuthMethods)
        );
        let params = Params::parse(b"client_id=other").unwrap();
        assert_eq!(
            ClientCredentials::read(Some(&header), &params),
            Err(TokenError::SeveralAuthMethods)
        );
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        let params = Params::parse(b"").unwrap();
        for header in ["Basic !!!", "Basic Y29uZg==", "Basic OnNlY3JldA=="] {
            let error = ClientCredentials::read(Some(header), &params).unwrap_err();
            assert_eq!(error, TokenError::MalformedBasic, "{header}");
            assert_eq!(error.to_oauth().code(), ErrorCode::InvalidClient);
        }
    }

    #[test]
    fn secrets_are_checked_both_ways() {
        let params = Params::parse(b"client_id=conf&client_secret=s3cret").unwrap();
        let credentials = ClientCredentials::read(None, &params).unwrap();
        assert_eq!(credentials.authenticate(&client(Some("s3cret"))), Ok(()));
        assert!(credentials.authenticate(&client(Some("other"))).is_err());
        assert!(credentials.authenticate(&client(None)).is_err());
        let params = Params::parse(b"client_id=conf").unwrap();
        let public = ClientCredentials::read(None, &params).unwrap();
        assert_eq!(public.authenticate(&client(None)), Ok(()));
        assert!(public.authenticate(&client(Some("s3cret"))).is_err());
        assert!(!format!("{credentials:?}").contains("s3cret"));
    }

    #[test]
    fn code_redemption_checks_every_binding() {
        let base = format!("grant_type=authorization_code&code=c&code_verifier={VERIFIER}");
        assert_eq!(redeem(&base, 120), Ok(()));
        assert_eq!(
            redeem(&format!("{base}&redirect_uri=https://app.example/cb"), 120),
            Ok(())
        );
        assert_eq!(
            redeem(&format!("{base}&redirect_uri=https://app.example/cb/"), 120),
            Err(TokenError::RedirectMismatch)
        );
        assert_eq!(redeem(&base, 160), Err(TokenError::ExpiredCode));
        let wrong = base.replace("EjXk", "EjXl");
        assert_eq!(redeem(&wrong, 120), Err(TokenError::VerifierMismatch));
        assert_eq!(
            redeem(&format!("{base}&resource=https://other.example/"), 120),
            Err(TokenError::Resource(ResourceError::Unknown))
        );
        assert_eq!(
            redeem(&format!("{base}&code=d"), 120),
            Err(TokenError::Repeated("code"))
        );
        let long = format!(
            "grant_type=authorization_code&code=c&code_verifier={}",
            "a".repeat(129)
        );
        assert_eq!(redeem(&long, 120), Err(TokenError::MalformedVerifier));
    }

    #[test]
    fn unsupported_grant_types() {
        for form in [
            "grant_type=password&username=u&password=p",
            "grant_type=urn:x:bogus",
            "grant_type=client_credentials",
        ] {
            let params = Params::parse(form.as_bytes()).unwrap();
            assert_eq!(
                TokenRequest::parse(&params),
                Err(TokenError::UnsupportedGrantType)
            );
        }
        let params = Params::parse(b"code=x").unwrap();
        assert_eq!(
            TokenRequest::parse(&params),
            Err(TokenError::Missing("grant_type"))
        );
    }

    #[test]
    fn refresh_narrows_but_never_widens() {
        let mut catalog = ScopeCatalog::new();
        catalog.register("a", "").unwrap();
        catalog.register("b", "").unwrap();
        catalog.register("c", "").unwrap();
        let resources = Resources::new("https://as.example/v1").unwrap();
        let grant = Grant {
            id: GrantId([1; 16]),
            client_id: "conf".into(),
            user: UserId(1),
            scope: catalog.parse("a b").unwrap(),
            resource: ResourceId(0),
            created_at: Timestamp(0),
        };
        let check = |form: &str, client: &str| {
            let params = Params::parse(form.as_bytes()).unwrap();
            let request = TokenRequest::parse(&params)?;
            check_refresh(&grant, client, &request, &catalog, &resources)
        };
        assert_eq!(
            check("grant_type=refresh_token&refresh_token=r", "conf"),
            Ok(grant.scope)
        );
        assert_eq!(
            check("grant_type=refresh_token&refresh_token=r&scope=a", "conf"),
            Ok(catalog.parse("a").unwrap())
        );
        assert_eq!(
            check("grant_type=refresh_token&refresh_token=r&scope=a+c", "conf"),
            Err(TokenError::ScopeWidened)
        );
        assert_eq!(
            check("grant_type=refresh_token&refresh_token=r", "pub2"),
            Err(TokenError::RefreshClientMismatch)
        );
        assert_eq!(
            check(
                "grant_type=refresh_token&refresh_token=r&resource=https://as.example/other",
                "conf"
            ),
            Err(TokenError::Resource(ResourceError::Unknown))
        );
    }
}
