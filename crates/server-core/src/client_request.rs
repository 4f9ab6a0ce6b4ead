//! The request handling that the revocation and introspection endpoints share:
//! a POST form, client authentication as at the token endpoint, and the `token`
//! and `token_type_hint` parameters.

use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use portcullis_errors::{BasicChallenge, ErrorCode, OAuthError};
use portcullis_grants::{Params, TokenError};

use crate::response::{error_response, store_failure};
use crate::token::{Failure, add_retry_after, is_form};
use crate::{AuthorizationServer, Clock, Store, StoreError};

/// The cause of a rejected revocation or introspection request.
pub(crate) enum ClientRequestError {
    /// A malformed form, a missing or repeated parameter, or failed client authentication.
    Request(TokenError),
    /// The caller did not authenticate as a confidential client (RFC 7662 §2.1).
    ConfidentialClientRequired,
    /// The store failed.
    Store(StoreError),
    /// The server failed for another reason, already logged where it happened.
    Internal(OAuthError),
}

impl ClientRequestError {
    /// Maps the cause to its wire error with a fixed description.
    fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Request(cause) => cause.to_oauth(),
            Self::ConfidentialClientRequired => OAuthError::new(
                ErrorCode::InvalidClient,
                "this endpoint requires the client_id and client_secret of a confidential client",
            ),
            Self::Store(error) => store_failure(error),
            Self::Internal(error) => *error,
        }
    }
}

impl From<TokenError> for ClientRequestError {
    fn from(cause: TokenError) -> Self {
        Self::Request(cause)
    }
}

impl From<StoreError> for ClientRequestError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl From<Failure> for ClientRequestError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Token(cause) => Self::Request(cause),
            Failure::Store(error) => Self::Store(error),
            Failure::Internal(error) => Self::Internal(error),
        }
    }
}

/// Reads the peer address the HTTP host put in the request's extensions.
pub(crate) fn client_addr<B>(request: &Request<B>) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<crate::ClientAddr>()
        .map(|addr| addr.0)
}

/// The kind of token the client claims to have sent (RFC 7009 §2.1, RFC 7662 §2.1).
///
/// It is only a hint, so the server searches every kind of token regardless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

/// The `token` and `token_type_hint` parameters of a revocation or introspection request.
pub(crate) struct TokenParam<'a> {
    /// The token string, never logged.
    pub(crate) token: &'a str,
    /// The hint; `None` when absent or of a type this server does not know.
    pub(crate) hint: Option<TokenTypeHint>,
}

impl<'a> TokenParam<'a> {
    /// Reads `token`, which is required, and `token_type_hint`.
    ///
    /// An unknown hint value is ignored rather than rejected, because the server
    /// must search all of its token types anyway (RFC 7009 §2.1).
    pub(crate) fn read(form: &'a Params<'_>) -> Result<Self, TokenError> {
        let token = form
            .get("token")
            .map_err(|_| TokenError::Repeated("token"))?
            .ok_or(TokenError::Missing("token"))?;
        let hint = match form
            .get("token_type_hint")
            .map_err(|_| TokenError::Repeated("token_type_hint"))?
        {
            Some("access_token") => Some(TokenTypeHint::AccessToken),
            Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
            Some(_) | None => None,
        };
        Ok(Self { token, hint })
    }

    /// Returns `true` when the refresh token store should be searched first.
    pub(crate) fn refresh_first(&self) -> bool {
        self.hint == Some(TokenTypeHint::RefreshToken)
    }
}

/// Returns the error response for a request that is not a POST with a form
/// body, or `None` for one that is.
pub(crate) fn reject_non_form_post<B>(request: &Request<B>) -> Option<Response<Bytes>> {
    if request.method() != Method::POST {
        let mut response = error_response(&OAuthError::new(
            ErrorCode::InvalidRequest,
            "this endpoint accepts POST only",
        ));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Some(response);
    }
    if !is_form(request.headers().get(CONTENT_TYPE)) {
        return Some(error_response(&OAuthError::new(
            ErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        )));
    }
    None
}

/// Returns the `Authorization` header when it is visible ASCII.
pub(crate) fn authorization_header<B>(request: &Request<B>) -> Option<&str> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}

/// Builds an empty 200 response that must not be cached.
pub(crate) fn empty_no_store() -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Renders a rejected revocation or introspection request as a JSON error
    /// (RFC 6749 §5.2) that must not be cached.
    ///
    /// A client authentication failure is 401 `invalid_client` with a `Basic`
    /// challenge, as at the token endpoint.
    pub(crate) fn client_request_failure(
        &self,
        endpoint: &'static str,
        failure: &ClientRequestError,
    ) -> Response<Bytes> {
        match failure {
            ClientRequestError::Request(cause) => {
                tracing::debug!(endpoint, %cause, "request rejected");
            }
            ClientRequestError::ConfidentialClientRequired => {
                tracing::debug!(endpoint, "request without confidential client credentials");
            }
            ClientRequestError::Store(error) => {
                tracing::warn!(endpoint, %error, "request failed in storage");
            }
            ClientRequestError::Internal(_) => {}
        }
        let error = failure.to_oauth();
        let mut response = error_response(&error);
        add_retry_after(&mut response, &error);
        // Every 401 carries a challenge (RFC 9110 §15.5.2).
        if error.status() == 401 {
            let value = BasicChallenge::new(&self.config.issuer).to_header_value();
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(form: &str) -> Result<Option<TokenTypeHint>, TokenError> {
        let params = Params::parse(form.as_bytes()).unwrap();
        TokenParam::read(&params).map(|param| param.hint)
    }

    #[test]
    fn token_is_required_once() {
        assert_eq!(
            param("token_type_hint=access_token").err(),
            Some(TokenError::Missing("token"))
        );
        assert_eq!(param("token=").err(), Some(TokenError::Missing("token")));
        assert_eq!(
            param("token=a&token=b").err(),
            Some(TokenError::Repeated("token"))
        );
    }

    #[test]
    fn unknown_hint_is_ignored() {
        assert_eq!(
            param("token=t&token_type_hint=access_token"),
            Ok(Some(TokenTypeHint::AccessToken))
        );
        assert_eq!(
            param("token=t&token_type_hint=refresh_token"),
            Ok(Some(TokenTypeHint::RefreshToken))
        );
        assert_eq!(param("token=t&token_type_hint=id_token"), Ok(None));
        assert_eq!(
            param("token=t&token_type_hint=a&token_type_hint=b").err(),
            Some(TokenError::Repeated("token_type_hint"))
        );
    }
}
