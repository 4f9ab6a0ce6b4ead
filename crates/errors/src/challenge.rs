use std::fmt::{self, Write as _};

use crate::ErrorCode;

/// A `WWW-Authenticate: Bearer` challenge from a protected resource ([RFC 6750 §3]).
///
/// Each parameter appears at most once and only when set. Values are quoted
/// strings; the builder takes `&str` so a resource can send it without allocating
/// until [`BearerChallenge::to_header_value`].
///
/// ```
/// use portcullis_errors::{BearerChallenge, ErrorCode};
///
/// let challenge = BearerChallenge::new()
///     .error(ErrorCode::InsufficientScope, "the token lacks a required scope")
///     .scope("datasets:read")
///     .resource_metadata("https://as.example/.well-known/oauth-protected-resource/v1");
/// assert_eq!(
///     challenge.to_header_value(),
///     "Bearer error=\"insufficient_scope\", error_description=\"the token lacks a required scope\", \
///      scope=\"datasets:read\", resource_metadata=\"https://as.example/.well-known/oauth-protected-resource/v1\""
/// );
/// ```
///
/// [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge<'a> {
    realm: Option<&'a str>,
    error: Option<(ErrorCode, &'a str)>,
    scope: Option<&'a str>,
    resource_metadata: Option<&'a str>,
}

impl<'a> BearerChallenge<'a> {
    /// Starts a challenge with no parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `realm`.
    #[must_use]
    pub fn realm(mut self, realm: &'a str) -> Self {
        self.realm = Some(realm);
        self
    }

    /// Sets `error` and `error_description`.
    ///
    /// A request that carried no credentials gets no error code (RFC 6750 §3.1).
    #[must_use]
    pub fn error(mut self, code: ErrorCode, description: &'a str) -> Self {
        self.error = Some((code, description));
        self
    }

    /// Sets `scope`, the space-separated scopes the request needs.
    #[must_use]
    pub fn scope(mut self, scope: &'a str) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Sets `resource_metadata`, the URL of the resource's metadata ([RFC 9728 §5.1]).
    ///
    /// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
    #[must_use]
    pub fn resource_metadata(mut self, url: &'a str) -> Self {
        self.resource_metadata = Some(url);
        self
    }

    /// Returns the error code, if one is set.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error.map(|(code, _)| code)
    }

    /// Renders the header value.
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for BearerChallenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params = Params::new(f, "Bearer");
        if let Some(realm) = self.realm {
            params.push("realm", realm)?;
        }
        if let Some((code, description)) = self.error {
            params.push("error", code.as_str())?;
            params.push("error_description", description)?;
        }
        if let Some(scope) = self.scope {
            params.push("scope", scope)?;
        }
        if let Some(url) = self.resource_metadata {
            params.push("resource_metadata", url)?;
        }
        params.finish()
    }
}

/// A `WWW-Authenticate: Basic` challenge for a token endpoint whose client sent
/// bad credentials in the `Authorization` header (RFC 6749 §5.2).
///
/// ```
/// use portcullis_errors::BasicChallenge;
///
/// assert_eq!(BasicChallenge::new("portcullis").to_header_value(), "Basic realm=\"portcullis\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasicChallenge<'a> {
    realm: &'a str,
}

impl<'a> BasicChallenge<'a> {
    /// Creates a challenge naming `realm`.
    pub fn new(realm: &'a str) -> Self {
        Self { realm }
    }

    /// Renders the header value.
    pub fn to_header_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for BasicChallenge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params = Params::new(f, "Basic");
        params.push("realm", self.realm)?;
        params.finish()
    }
}

/// Writes `scheme name="value", name="value"` with quoted-string escaping.
struct Params<'f, 'a> {
    out: &'f mut fmt::Formatter<'a>,
    first: bool,
}

impl<'f, 'a> Params<'f, 'a> {
    fn new(out: &'f mut fmt::Formatter<'a>, scheme: &'static str) -> Self {
        // The scheme is written lazily so an empty challenge is still valid.
        let _ = out.write_str(scheme);
        Self { out, first: true }
    }

    fn push(&mut self, name: &str, value: &str) -> fmt::Result {
        self.out.write_str(if self.first { " " } else { ", " })?;
        self.first = false;
        self.out.write_str(name)?;
        self.out.write_str("=\"")?;
        for ch in value.chars() {
            // A quoted-string cannot carry control characters; drop them rather
            // than emit a header the client cannot parse.
            match ch {
                '"' | '\\' => {
                    self.out.write_char('\\')?;
                    self.out.write_char(ch)?;
                }
                c if c.is_ascii_control() => {}
                c => self.out.write_char(c)?,
            }
        }
        self.out.write_char('"')
    }

    fn finish(self) -> fmt::Result {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_bearer_challenge_has_no_error() {
        let value = BearerChallenge::new()
            .resource_metadata("https://as/.well-known/x")
            .to_header_value();
        assert_eq!(
            value,
            "Bearer resource_metadata=\"https://as/.well-known/x\""
        );
        assert!(!value.contains("error"));
    }

    #[test]
    fn invalid_token_challenge_names_the_error() {
        let value = BearerChallenge::new()
            .realm("api")
            .error(ErrorCode::InvalidToken, "the access token is invalid")
            .to_header_value();
        assert_eq!(
            value,
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the access token is invalid\""
        );
    }

    #[test]
    fn quoted_values_escape_quotes_and_drop_controls() {
        let value = BearerChallenge::new().realm("a\"b\\c\nd").to_header_value();
        assert_eq!(value, "Bearer realm=\"a\\\"b\\\\cd\"");
    }
}
