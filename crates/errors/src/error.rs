use std::fmt;

use url::Url;

use crate::ErrorCode;

/// An OAuth error response: a code, a fixed description and an optional documentation URI.
///
/// The same value renders as a token-endpoint JSON body ([`OAuthError::to_json`]) or
/// as an authorization-endpoint redirect ([`OAuthError::redirect_location`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: &'static str,
    uri: Option<&'static str>,
}

/// The redirect URI handed to [`OAuthError::redirect_location`] is not an absolute URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidRedirectTarget;

impl fmt::Display for InvalidRedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("redirect URI is not an absolute URI")
    }
}

impl std::error::Error for InvalidRedirectTarget {}

impl OAuthError {
    /// Creates an error with a fixed description.
    ///
    /// The description must be printable ASCII without `"` and `\` (RFC 6749 §5.2);
    /// debug builds assert it.
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        debug_assert!(
            is_error_text(description),
            "description breaks RFC 6749 §5.2"
        );
        Self {
            code,
            description,
            uri: None,
        }
    }

    /// Adds an `error_uri` pointing at a page that explains the error.
    #[must_use]
    pub fn with_uri(mut self, uri: &'static str) -> Self {
        debug_assert!(!uri.is_empty() && uri.bytes().all(|b| is_error_text_byte(b) && b != b' '));
        self.uri = Some(uri);
        self
    }

    /// Returns the error code.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// Returns the human-readable description sent as `error_description`.
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// Returns the `error_uri`, if one was set.
    pub const fn uri(&self) -> Option<&'static str> {
        self.uri
    }

    /// Returns the HTTP status for a JSON response carrying this error.
    pub const fn status(&self) -> u16 {
        self.code.status()
    }

    /// Renders the JSON body of RFC 6749 §5.2.
    pub fn to_json(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            error: &'a str,
            error_description: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            error_uri: Option<&'a str>,
        }
        let body = Body {
            error: self.code.as_str(),
            error_description: self.description,
            error_uri: self.uri,
        };
        // Serialising a struct of strings into a String cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// Builds the `Location` of an error redirect (RFC 6749 §4.1.2.1).
    ///
    /// The parameters are appended to the redirect URI's existing query, followed
    /// by `state` when the client sent one and `iss` ([RFC 9207 §2]).
    ///
    /// # Errors
    ///
    /// Returns [`InvalidRedirectTarget`] when `redirect_uri` is not an absolute URI.
    ///
    /// [RFC 9207 §2]: https://www.rfc-editor.org/rfc/rfc9207#section-2
    pub fn redirect_location(
        &self,
        redirect_uri: &str,
        state: Option<&str>,
        issuer: &str,
    ) -> Result<String, InvalidRedirectTarget> {
        let mut url = Url::parse(redirect_uri).map_err(|_| InvalidRedirectTarget)?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("error", self.code.as_str());
            query.append_pair("error_description", self.description);
            if let Some(uri) = self.uri {
                query.append_pair("error_uri", uri);
            }
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", issuer);
        }
        Ok(url.into())
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// Checks the `error_description` character set of RFC 6749 §5.2.
fn is_error_text(text: &str) -> bool {
    text.bytes().all(is_error_text_byte)
}

fn is_error_text_byte(byte: u8) -> bool {
    matches!(byte, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_has_error_and_description() {
        let error = OAuthError::new(ErrorCode::InvalidRequest, "missing code_verifier");
        let value: serde_json::Value = serde_json::from_str(&error.to_json()).unwrap();
        assert_eq!(value["error"], "invalid_request");
        assert_eq!(value["error_description"], "missing code_verifier");
        assert!(value.get("error_uri").is_none());
    }

    #[test]
    fn json_body_carries_error_uri_when_set() {
        let error = OAuthError::new(ErrorCode::InvalidScope, "unknown scope")
            .with_uri("https://docs.example/errors#invalid_scope");
        let value: serde_json::Value = serde_json::from_str(&error.to_json()).unwrap();
        assert_eq!(
            value["error_uri"],
            "https://docs.example/errors#invalid_scope"
        );
    }

    #[test]
    fn redirect_keeps_existing_query_and_adds_state_and_iss() {
        let error = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        let location = error
            .redirect_location(
                "https://app.example/cb?tenant=7",
                Some("a b+c/~"),
                "https://as.example",
            )
            .unwrap();
        let url = Url::parse(&location).unwrap();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("tenant".into(), "7".into()));
        assert!(pairs.contains(&("error".into(), "access_denied".into())));
        assert!(pairs.contains(&("state".into(), "a b+c/~".into())));
        assert!(pairs.contains(&("iss".into(), "https://as.example".into())));
    }

    #[test]
    fn redirect_without_state_sends_no_state() {
        let error = OAuthError::new(ErrorCode::InvalidScope, "unknown scope");
        let location = error
            .redirect_location("http://127.0.0.1:5000/cb", None, "http://as")
            .unwrap();
        assert!(!location.contains("state="));
        assert!(location.contains("iss=http%3A%2F%2Fas"));
    }

    #[test]
    fn redirect_to_relative_uri_fails() {
        let error = OAuthError::new(ErrorCode::InvalidScope, "unknown scope");
        assert_eq!(
            error.redirect_location("/cb", None, "https://as"),
            Err(InvalidRedirectTarget)
        );
    }

    #[test]
    fn error_text_excludes_quote_and_backslash() {
        assert!(is_error_text("a plain description: 42"));
        assert!(!is_error_text("say \"hi\""));
        assert!(!is_error_text("back\\slash"));
        assert!(!is_error_text("line\nbreak"));
    }
}
