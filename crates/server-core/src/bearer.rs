use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use portcullis_errors::{BearerChallenge, ErrorCode};
use portcullis_grants::{AccessToken, ResourceId, SecretHash};
use portcullis_scopes::ScopeSet;
use thiserror::Error;

use crate::response::store_failure;
use crate::{AuthorizationServer, Clock, Store, StoreError};

/// Cause of a rejected bearer request to a protected resource (RFC 6750 §3.1).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BearerError {
    /// No `Authorization` header, or one of another scheme: no error code is sent.
    #[error("no bearer token was sent")]
    Missing,
    /// The header is not `Bearer <token68>`.
    #[error("the Authorization header is malformed")]
    Malformed,
    /// The token is unknown, revoked or expired.
    #[error("the access token is invalid or expired")]
    InvalidToken,
    /// The token was issued for another resource (RFC 8707 §2).
    #[error("the access token is for another resource")]
    WrongAudience,
    /// The token lacks a required scope.
    #[error("the access token lacks a required scope")]
    InsufficientScope,
    /// The token store failed.
    #[error("token lookup failed")]
    Store(#[from] StoreError),
}

impl<S: Store, C: Clock> AuthorizationServer<S, C> {
    /// Checks the bearer token of a request to `resource` that needs `required`.
    ///
    /// Only the `Authorization` header is read; tokens in the query are ignored
    /// (OAuth 2.1 §5.1). The scheme name is case-insensitive. With the in-memory
    /// store this allocates nothing.
    ///
    /// # Errors
    ///
    /// [`BearerError`]; [`AuthorizationServer::bearer_error_response`] renders it.
    pub async fn authenticate_bearer(
        &self,
        headers: &HeaderMap,
        resource: ResourceId,
        required: ScopeSet,
    ) -> Result<AccessToken, BearerError> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(if headers.contains_key(AUTHORIZATION) {
                BearerError::Malformed
            } else {
                BearerError::Missing
            });
        };
        let token = bearer_token(value)?;
        let Some(access) = self.store.access_token(SecretHash::of(token)).await? else {
            return Err(BearerError::InvalidToken);
        };
        if self.clock.now() >= access.expires_at {
            return Err(BearerError::InvalidToken);
        }
        if access.resource != resource {
            return Err(BearerError::WrongAudience);
        }
        if !required.is_subset_of(access.scope) {
            return Err(BearerError::InsufficientScope);
        }
        Ok(access)
    }

    /// Renders a bearer rejection: 401 or 403 with a `WWW-Authenticate` challenge
    /// carrying `resource_metadata` (RFC 9728 §5.1) and, where a scope is missing,
    /// `scope` (RFC 6750 §3).
    pub fn bearer_error_response(
        &self,
        error: &BearerError,
        required: ScopeSet,
        resource_metadata: &str,
    ) -> Response<Bytes> {
        let scope = self.config.catalog.format(required);
        let mut challenge = BearerChallenge::new().resource_metadata(resource_metadata);
        let (status, code, description) = match error {
            BearerError::Missing => (StatusCode::UNAUTHORIZED, None, "a bearer token is required"),
            BearerError::Malformed => (
                StatusCode::BAD_REQUEST,
                Some(ErrorCode::InvalidRequest),
                "the Authorization header must be one Bearer token",
            ),
            BearerError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                Some(ErrorCode::InvalidToken),
                "the access token is invalid or expired",
            ),
            BearerError::WrongAudience => (
                StatusCode::UNAUTHORIZED,
                Some(ErrorCode::InvalidToken),
                "the access token is for another resource",
            ),
            BearerError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                Some(ErrorCode::InsufficientScope),
                "the access token lacks a required scope",
            ),
            BearerError::Store(store) => {
                let error = store_failure(store);
                let mut response = crate::response::error_response(&error);
                *response.status_mut() =
                    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return response;
            }
        };
        if let Some(code) = code {
            challenge = challenge.error(code, description);
        }
        if !required.is_empty() && !matches!(error, BearerError::Malformed) {
            challenge = challenge.scope(&scope);
        }
        let body = match code {
            Some(code) => {
                serde_json::json!({"error": code.as_str(), "error_description": description})
            }
            // RFC 6750 §3.1: a request without credentials gets no error code.
            None => serde_json::json!({"error_description": description}),
        };
        let mut response = Response::new(Bytes::from(body.to_string()));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(value) = HeaderValue::from_str(&challenge.to_header_value()) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Extracts the token from `Bearer <token68>` (RFC 6750 §2.1).
fn bearer_token(value: &HeaderValue) -> Result<&str, BearerError> {
    let text = value.to_str().map_err(|_| BearerError::Malformed)?;
    let (scheme, token) = text.split_once(' ').ok_or(BearerError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Missing);
    }
    let token = token.trim_matches(' ');
    let token68 = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
    };
    if token.is_empty() || !token.bytes().all(token68) {
        return Err(BearerError::Malformed);
    }
    Ok(token)
}
