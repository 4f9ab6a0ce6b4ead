use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use portcullis_errors::{ErrorCode, OAuthError};
use portcullis_grants::{
    Client, ClientOrigin, RedirectUriError, SecretHash, validate_redirect_uri,
};
use portcullis_scopes::{ScopeCatalog, ScopeError, ScopeSet};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::response::{error_response, json_no_store, store_failure};
use crate::{AuthorizationServer, Clock, Store, generate_secret};

/// Maximum size of a registration request body, in bytes.
pub const MAX_REGISTRATION_BYTES: usize = 16 * 1024;
/// Maximum number of redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 20;
/// Maximum length of `client_name`, in characters.
pub const MAX_CLIENT_NAME_CHARS: usize = 200;

/// Characters of a generated `client_id`: 22 base64url characters carry 132 random bits.
const CLIENT_ID_CHARS: usize = 22;
/// Every client may use both grants, because the client record does not store grant types.
const GRANT_TYPES: [&str; 2] = ["authorization_code", "refresh_token"];

/// The cause of a rejected registration request (RFC 7591 §3.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
enum RegistrationError {
    /// The `Content-Type` is not `application/json`.
    #[error("the body is not application/json")]
    NotJson,
    /// The body is longer than [`MAX_REGISTRATION_BYTES`].
    #[error("the body is too large")]
    TooLarge,
    /// The body is not a JSON object, or a known field has the wrong type or is repeated.
    #[error("the body is not a valid JSON object of client metadata")]
    MalformedJson,
    /// `redirect_uris` is missing or empty.
    #[error("redirect_uris is missing")]
    MissingRedirectUris,
    /// More than [`MAX_REDIRECT_URIS`] redirect URIs.
    #[error("too many redirect_uris")]
    TooManyRedirectUris,
    /// A redirect URI breaks a registration rule.
    #[error(transparent)]
    RedirectUri(RedirectUriError),
    /// `token_endpoint_auth_method` is not `none`, `client_secret_basic` or `client_secret_post`.
    #[error("token_endpoint_auth_method is not supported")]
    AuthMethod,
    /// `grant_types` names a grant this server does not offer, or lacks `authorization_code`.
    #[error("grant_types is not supported")]
    GrantTypes,
    /// `response_types` is not exactly the `code` response type.
    #[error("response_types is not supported")]
    ResponseTypes,
    /// `scope` contains a malformed or unregistered scope.
    #[error("scope is malformed or unknown")]
    Scope(ScopeError),
    /// `client_name` is too long, or contains control, bidirectional or
    /// invisible formatting characters that could disguise it on the consent page.
    #[error("client_name is too long or has control or formatting characters")]
    ClientName,
}

impl RegistrationError {
    /// Maps the cause to its wire error with a fixed description.
    fn to_oauth(self) -> OAuthError {
        use ErrorCode::{InvalidClientMetadata, InvalidRedirectUri};
        let (code, description) = match self {
            Self::NotJson => (
                InvalidClientMetadata,
                "the body must be a JSON object sent as application/json",
            ),
            Self::TooLarge => (
                InvalidClientMetadata,
                "the registration request must be at most 16 KiB",
            ),
            Self::MalformedJson => (
                InvalidClientMetadata,
                "the body must be a JSON object whose known fields have their registered types",
            ),
            Self::MissingRedirectUris => (
                InvalidRedirectUri,
                "redirect_uris must list at least one redirect URI",
            ),
            Self::TooManyRedirectUris => (
                InvalidRedirectUri,
                "redirect_uris may list at most 20 redirect URIs",
            ),
            Self::RedirectUri(_) => (
                InvalidRedirectUri,
                "each redirect URI must be https, http on a loopback host, or for public clients \
                 a reverse-domain private-use scheme, without fragment, userinfo or wildcard",
            ),
            Self::AuthMethod => (
                InvalidClientMetadata,
                "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
            ),
            Self::GrantTypes => (
                InvalidClientMetadata,
                "grant_types must include authorization_code and may add only refresh_token",
            ),
            Self::ResponseTypes => (
                InvalidClientMetadata,
                "response_types may contain only code",
            ),
            Self::Scope(_) => (
                InvalidClientMetadata,
                "scope must list registered scopes separated by spaces",
            ),
            Self::ClientName => (
                InvalidClientMetadata,
                "client_name must be at most 200 characters without control or formatting characters",
            ),
        };
        OAuthError::new(code, description)
    }
}

/// The client metadata fields this server reads (RFC 7591 §2); others are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RegistrationRequest {
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    scope: Option<String>,
}

/// The token endpoint authentication method of a registered client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AuthMethod {
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

impl AuthMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// Client metadata that passed every check.
#[derive(Debug, PartialEq, Eq)]
struct ClientMetadata {
    redirect_uris: Vec<String>,
    auth_method: AuthMethod,
    scope: ScopeSet,
    client_name: Option<String>,
}

/// The successful registration response (RFC 7591 §3.2.1).
#[derive(Serialize)]
struct RegistrationBody<'a> {
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<u64>,
    client_id_issued_at: u64,
    redirect_uris: &'a [String],
    token_endpoint_auth_method: &'static str,
    grant_types: [&'static str; 2],
    response_types: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    client_name: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Serves open dynamic client registration (RFC 7591 §3): a POST with a
    /// JSON object of client metadata. The response is 201 with the new client.
    ///
    /// Read fields and their defaults (RFC 7591 §2):
    /// - `redirect_uris`, required, 1 to [`MAX_REDIRECT_URIS`] URIs, each checked by
    ///   [`validate_redirect_uri`]: `https`, `http` on a loopback host, or for
    ///   public clients a reverse-domain private-use scheme;
    /// - `token_endpoint_auth_method`: `none` (a public client),
    ///   `client_secret_basic` (the default) or `client_secret_post`;
    /// - `grant_types`: must contain `authorization_code` and may add
    ///   `refresh_token`. The response always lists both, because every client
    ///   of this server receives refresh tokens;
    /// - `response_types`: only `code`, the default;
    /// - `scope`: registered scopes; when absent or empty the client may request
    ///   every scope of the catalog;
    /// - `client_name`: at most [`MAX_CLIENT_NAME_CHARS`] characters. It is shown
    ///   on the consent page, which uses the `client_id` when no name is sent.
    ///
    /// Other fields are ignored. The client is stored with
    /// [`ClientOrigin::Dynamic`], so errors found before sign-in are shown on the
    /// error page rather than redirected. A confidential client receives a
    /// secret of 256 random bits, of which only the SHA-256 is stored, and
    /// `client_secret_expires_at` 0 (never). The response echoes the registered
    /// metadata and carries `Cache-Control: no-store`.
    ///
    /// Errors are 400 `invalid_redirect_uri` or `invalid_client_metadata`
    /// (RFC 7591 §3.2.2), including for a body that is not JSON or is over
    /// [`MAX_REGISTRATION_BYTES`], and 405 for a method other than POST.
    ///
    /// Anyone can call this endpoint. The host must rate-limit it per source
    /// address, because this method cannot see the address.
    pub async fn register<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Bytes> {
        if request.method() != Method::POST {
            let mut response = error_response(&OAuthError::new(
                ErrorCode::InvalidRequest,
                "the registration endpoint accepts POST only",
            ));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        let body = request.body().as_ref();
        let metadata = match check_registration(request.headers().get(CONTENT_TYPE), body)
            .and_then(|parsed| validate_metadata(parsed, &self.config.catalog))
        {
            Ok(metadata) => metadata,
            Err(cause) => {
                tracing::debug!(%cause, "client registration rejected");
                return error_response(&cause.to_oauth());
            }
        };
        match self.create_client(metadata).await {
            Ok(response) => response,
            Err(error) => error_response(&error),
        }
    }

    /// Generates the client's credentials, stores it and renders the response.
    async fn create_client(&self, metadata: ClientMetadata) -> Result<Response<Bytes>, OAuthError> {
        let id_source = generate_secret()?;
        let client_id = id_source.get(..CLIENT_ID_CHARS).unwrap_or(&id_source);
        let secret = match metadata.auth_method {
            AuthMethod::None => None,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                Some(generate_secret()?)
            }
        };
        let now = self.clock.now();
        let client = Client {
            id: client_id.to_owned(),
            name: metadata
                .client_name
                .clone()
                .unwrap_or_else(|| client_id.to_owned()),
            secret_hash: secret.as_deref().map(SecretHash::of),
            redirect_uris: metadata.redirect_uris.clone(),
            scope: metadata.scope,
            origin: ClientOrigin::Dynamic,
            created_at: now,
        };
        if let Err(error) = self.store.insert_client(client).await {
            // A Conflict here means two random 132-bit ids collided: a server error.
            tracing::warn!(%error, %client_id, "storing a registered client failed");
            return Err(store_failure(&error));
        }
        tracing::debug!(%client_id, public = secret.is_none(), "client registered");
        let scope = self.config.catalog.format(metadata.scope);
        let body = RegistrationBody {
            client_id,
            client_secret: secret.as_deref(),
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_id_issued_at: now.0,
            redirect_uris: &metadata.redirect_uris,
            token_endpoint_auth_method: metadata.auth_method.as_str(),
            grant_types: GRANT_TYPES,
            response_types: ["code"],
            client_name: metadata.client_name.as_deref(),
            scope: &scope,
        };
        let json = serde_json::to_string(&body).map_err(|error| {
            tracing::error!(%error, "serialising a registration response failed");
            OAuthError::new(
                ErrorCode::ServerError,
                "the server failed to process the request",
            )
        })?;
        Ok(json_no_store(StatusCode::CREATED, json))
    }
}

/// Checks the media type and size of a registration request and parses its JSON.
fn check_registration(
    content_type: Option<&HeaderValue>,
    body: &[u8],
) -> Result<RegistrationRequest, RegistrationError> {
    let is_json = content_type
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(RegistrationError::NotJson);
    }
    if body.len() > MAX_REGISTRATION_BYTES {
        return Err(RegistrationError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|_| RegistrationError::MalformedJson)
}

/// Checks every read field and fills in the defaults of RFC 7591 §2.
fn validate_metadata(
    request: RegistrationRequest,
    catalog: &ScopeCatalog,
) -> Result<ClientMetadata, RegistrationError> {
    let auth_method = match request.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
        Some("client_secret_post") => AuthMethod::ClientSecretPost,
        Some("none") => AuthMethod::None,
        Some(_) => return Err(RegistrationError::AuthMethod),
    };
    let mut redirect_uris = request.redirect_uris.unwrap_or_default();
    // A URI listed twice is registered once; the order of first mention is kept.
    let mut seen = std::collections::HashSet::new();
    redirect_uris.retain(|uri| seen.insert(uri.clone()));
    if redirect_uris.is_empty() {
        return Err(RegistrationError::MissingRedirectUris);
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(RegistrationError::TooManyRedirectUris);
    }
    let public = auth_method == AuthMethod::None;
    for uri in &redirect_uris {
        validate_redirect_uri(uri, public).map_err(RegistrationError::RedirectUri)?;
    }
    check_grant_types(request.grant_types.as_deref())?;
    check_response_types(request.response_types.as_deref())?;
    let scope = match request.scope.as_deref().map(str::trim) {
        None | Some("") => catalog.all(),
        Some(value) => catalog.parse(value).map_err(RegistrationError::Scope)?,
    };
    let client_name = match request.client_name {
        Some(name) if name.chars().count() > MAX_CLIENT_NAME_CHARS => {
            return Err(RegistrationError::ClientName);
        }
        Some(name) if name.chars().any(is_hidden_character) => {
            return Err(RegistrationError::ClientName);
        }
        Some(name) => Some(name).filter(|name| !name.trim().is_empty()),
        None => None,
    };
    Ok(ClientMetadata {
        redirect_uris,
        auth_method,
        scope,
        client_name,
    })
}

/// Accepts `authorization_code`, optionally with `refresh_token`; absent means the former.
fn check_grant_types(grant_types: Option<&[String]>) -> Result<(), RegistrationError> {
    let Some(grant_types) = grant_types else {
        return Ok(());
    };
    let known = grant_types
        .iter()
        .all(|grant| GRANT_TYPES.contains(&grant.as_str()));
    let has_code = grant_types
        .iter()
        .any(|grant| grant == "authorization_code");
    if known && has_code {
        Ok(())
    } else {
        Err(RegistrationError::GrantTypes)
    }
}

/// Accepts only the `code` response type; absent means `code`.
fn check_response_types(response_types: Option<&[String]>) -> Result<(), RegistrationError> {
    match response_types {
        None => Ok(()),
        Some(types) if !types.is_empty() && types.iter().all(|kind| kind == "code") => Ok(()),
        Some(_) => Err(RegistrationError::ResponseTypes),
    }
}

/// Returns `true` for characters that change how a name is displayed without
/// being visible themselves: controls, and the format characters (Unicode
/// category Cf) that reorder or hide text, such as U+202E and U+200B.
fn is_hidden_character(ch: char) -> bool {
    ch.is_control()
        || matches!(
            ch,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> ScopeCatalog {
        let mut catalog = ScopeCatalog::new();
        catalog.register("datasets:read", "Read datasets").unwrap();
        catalog.register("mcp:query", "Query through MCP").unwrap();
        catalog
    }

    fn validate(json: &str) -> Result<ClientMetadata, RegistrationError> {
        let json_type = HeaderValue::from_static("application/json");
        let request = check_registration(Some(&json_type), json.as_bytes())?;
        validate_metadata(request, &catalog())
    }

    #[test]
    fn defaults_follow_rfc7591_section_2() {
        let metadata = validate(r#"{"redirect_uris":["https://app.example/cb"]}"#).unwrap();
        assert_eq!(metadata.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(metadata.scope, catalog().all());
        assert_eq!(metadata.client_name, None);
    }

    #[test]
    fn media_type_may_carry_parameters() {
        let value = HeaderValue::from_static("Application/JSON; charset=utf-8");
        assert!(check_registration(Some(&value), b"{}").is_ok());
        let form = HeaderValue::from_static("application/x-www-form-urlencoded");
        assert_eq!(
            check_registration(Some(&form), b"{}").err(),
            Some(RegistrationError::NotJson)
        );
        assert_eq!(
            check_registration(None, b"{}").err(),
            Some(RegistrationError::NotJson)
        );
    }

    #[test]
    fn known_fields_need_their_types() {
        for json in [
            r#"{"redirect_uris":"https://app.example/cb"}"#,
            r#"{"redirect_uris":["https://app.example/cb"],"scope":["datasets:read"]}"#,
            r#"{"redirect_uris":["https://app.example/cb"],"redirect_uris":["https://app.example/cb"]}"#,
            r#"["https://app.example/cb"]"#,
            "not json",
        ] {
            assert_eq!(
                validate(json).err(),
                Some(RegistrationError::MalformedJson),
                "{json}"
            );
        }
    }

    #[test]
    fn grant_and_response_types_are_limited() {
        let cases = [
            (
                r#""grant_types":["implicit"]"#,
                RegistrationError::GrantTypes,
            ),
            (
                r#""grant_types":["refresh_token"]"#,
                RegistrationError::GrantTypes,
            ),
            (r#""grant_types":[]"#, RegistrationError::GrantTypes),
            (
                r#""response_types":["token"]"#,
                RegistrationError::ResponseTypes,
            ),
            (r#""response_types":[]"#, RegistrationError::ResponseTypes),
        ];
        for (field, expected) in cases {
            let json = format!(r#"{{"redirect_uris":["https://app.example/cb"],{field}}}"#);
            assert_eq!(validate(&json).err(), Some(expected), "{field}");
        }
        let json = r#"{"redirect_uris":["https://app.example/cb"],"grant_types":["refresh_token","authorization_code"],"response_types":["code"]}"#;
        assert!(validate(json).is_ok());
    }

    #[test]
    fn client_name_rejects_hidden_characters() {
        for name in [
            "abc\u{202E}dcba",
            "Goo\u{200B}gle",
            "x\u{FEFF}",
            "tab\there",
        ] {
            let body = format!(
                r#"{{"redirect_uris":["https://app.example/cb"],"client_name":{}}}"#,
                serde_json::to_string(name).unwrap()
            );
            assert!(
                matches!(validate(&body), Err(RegistrationError::ClientName)),
                "{name:?}"
            );
        }
    }

    #[test]
    fn duplicate_redirect_uris_are_registered_once() {
        let metadata =
            validate(r#"{"redirect_uris":["https://app.example/cb","https://app.example/cb"]}"#)
                .unwrap();
        assert_eq!(metadata.redirect_uris, ["https://app.example/cb"]);
    }

    #[test]
    fn client_name_is_limited() {
        let long = format!(
            r#"{{"redirect_uris":["https://app.example/cb"],"client_name":"{}"}}"#,
            "n".repeat(MAX_CLIENT_NAME_CHARS + 1)
        );
        assert_eq!(validate(&long).err(), Some(RegistrationError::ClientName));
        let control = r#"{"redirect_uris":["https://app.example/cb"],"client_name":"a\nb"}"#;
        assert_eq!(validate(control).err(), Some(RegistrationError::ClientName));
        let blank = r#"{"redirect_uris":["https://app.example/cb"],"client_name":"  "}"#;
        assert_eq!(validate(blank).unwrap().client_name, None);
    }

    #[test]
    fn every_cause_has_a_registration_error_code() {
        let causes = [
            RegistrationError::NotJson,
            RegistrationError::TooLarge,
            RegistrationError::MalformedJson,
            RegistrationError::MissingRedirectUris,
            RegistrationError::TooManyRedirectUris,
            RegistrationError::RedirectUri(RedirectUriError::Fragment),
            RegistrationError::AuthMethod,
            RegistrationError::GrantTypes,
            RegistrationError::ResponseTypes,
            RegistrationError::Scope(ScopeError::Unknown),
            RegistrationError::ClientName,
        ];
        for cause in causes {
            let code = cause.to_oauth().code();
            assert!(
                matches!(
                    code,
                    ErrorCode::InvalidClientMetadata | ErrorCode::InvalidRedirectUri
                ),
                "{cause:?} maps to {code}"
            );
            assert_eq!(cause.to_oauth().status(), 400);
        }
    }
}
