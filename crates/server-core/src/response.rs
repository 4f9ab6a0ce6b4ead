use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderValue, Response, StatusCode};
use portcullis_errors::{ErrorCode, OAuthError};

use crate::StoreError;

/// Builds a JSON response that must not be cached (RFC 6749 §5.1).
pub(crate) fn json_no_store(status: StatusCode, body: String) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Builds the JSON error response of RFC 6749 §5.2.
pub fn error_response(error: &OAuthError) -> Response<Bytes> {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST);
    json_no_store(status, error.to_json())
}

/// Maps a storage failure to `temporarily_unavailable` or `server_error`.
pub fn store_failure(error: &StoreError) -> OAuthError {
    if error.is_transient() {
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, retry later",
        )
    } else {
        OAuthError::new(
            ErrorCode::ServerError,
            "the server failed to process the request",
        )
    }
}
