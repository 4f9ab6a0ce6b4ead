//! OAuth 2.1 error codes and the four wire forms an authorization server sends them in.
//!
//! This crate does no I/O and never reads the clock. It owns every error code
//! registered by RFC 6749, RFC 6750, RFC 7009, RFC 7591 and RFC 8707, and turns an
//! [`OAuthError`] into a JSON body ([RFC 6749 §5.2]), a redirect query
//! ([RFC 6749 §4.1.2.1], with `iss` from [RFC 9207 §2]), an HTTP status, or a
//! `WWW-Authenticate` challenge ([RFC 6750 §3]).
//!
//! Descriptions are `&'static str`: they are fixed texts chosen by the server,
//! never built from request input, so they cannot leak a secret or break the
//! ASCII rules of [RFC 6749 §5.2].
//!
//! ```
//! use portcullis_errors::{ErrorCode, OAuthError};
//!
//! let error = OAuthError::new(ErrorCode::InvalidGrant, "the authorization code has expired");
//! assert_eq!(error.status(), 400);
//! assert_eq!(
//!     error.to_json(),
//!     r#"{"error":"invalid_grant","error_description":"the authorization code has expired"}"#
//! );
//!
//! let location = error.redirect_location("https://app.example/cb", Some("xyz"), "https://as.example");
//! assert_eq!(
//!     location.as_deref(),
//!     Ok("https://app.example/cb?error=invalid_grant&error_description=the+authorization+code+has+expired&state=xyz&iss=https%3A%2F%2Fas.example")
//! );
//! ```
//!
//! [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
//! [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
//! [RFC 9207 §2]: https://www.rfc-editor.org/rfc/rfc9207#section-2
//! [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod challenge;
mod code;
mod error;

pub use challenge::{BasicChallenge, BearerChallenge};
pub use code::ErrorCode;
pub use error::{InvalidRedirectTarget, OAuthError};
