use std::fmt;

/// An OAuth error code from the IANA "OAuth Extensions Error Registry".
///
/// One variant per registered code that an authorization server or a
/// protected resource sends. [`ErrorCode::as_str`] returns the registry string.
///
/// ```
/// use portcullis_errors::ErrorCode;
///
/// assert_eq!(ErrorCode::InvalidTarget.as_str(), "invalid_target");
/// assert_eq!(ErrorCode::parse("access_denied"), Some(ErrorCode::AccessDenied));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A required parameter is missing or repeated, or a value is malformed (RFC 6749 §4.1.2.1, §5.2).
    InvalidRequest,
    /// Client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// The code or refresh token is invalid, expired, revoked or bound elsewhere (RFC 6749 §5.2).
    InvalidGrant,
    /// The client may not use this grant type or response type (RFC 6749 §4.1.2.1, §5.2).
    UnauthorizedClient,
    /// The grant type is not supported (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown or wider than allowed (RFC 6749 §4.1.2.1, §5.2).
    InvalidScope,
    /// The resource owner or the server denied the request (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// The response type is not supported (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// The server met an unexpected condition (RFC 6749 §4.1.2.1).
    ServerError,
    /// The server is overloaded or a dependency is unreachable (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// The `resource` parameter is invalid or names a resource not served (RFC 8707 §2).
    InvalidTarget,
    /// The access token is expired, revoked, malformed or unknown (RFC 6750 §3.1).
    InvalidToken,
    /// The access token lacks the scope the request needs (RFC 6750 §3.1).
    InsufficientScope,
    /// A registered redirect URI is invalid (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// A client metadata field is invalid (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// The software statement is invalid (RFC 7591 §3.2.2).
    InvalidSoftwareStatement,
    /// The software statement is not approved (RFC 7591 §3.2.2).
    UnapprovedSoftwareStatement,
    /// The server cannot revoke tokens of this type (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// The client is sending requests too fast; not a registry code, sent with status 429.
    SlowDown,
}

impl ErrorCode {
    const ALL: [Self; 19] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::InvalidScope,
        Self::AccessDenied,
        Self::UnsupportedResponseType,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::InvalidTarget,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::InvalidRedirectUri,
        Self::InvalidClientMetadata,
        Self::InvalidSoftwareStatement,
        Self::UnapprovedSoftwareStatement,
        Self::UnsupportedTokenType,
        Self::SlowDown,
    ];

    /// Returns the registry string sent in the `error` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidSoftwareStatement => "invalid_software_statement",
            Self::UnapprovedSoftwareStatement => "unapproved_software_statement",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::SlowDown => "slow_down",
        }
    }

    /// Parses a registry string, returning `None` for a code this crate does not know.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == value)
    }

    /// Returns the HTTP status a JSON error response with this code carries.
    ///
    /// `invalid_client` is 401 (RFC 6749 §5.2 allows 400 for body credentials,
    /// but one status keeps clients simple), `invalid_token` 401 and
    /// `insufficient_scope` 403 (RFC 6750 §3.1), `server_error` 500,
    /// `temporarily_unavailable` 503, `slow_down` 429, and every other code 400.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            Self::SlowDown => 429,
            Self::InvalidRequest
            | Self::InvalidGrant
            | Self::UnauthorizedClient
            | Self::UnsupportedGrantType
            | Self::InvalidScope
            | Self::AccessDenied
            | Self::UnsupportedResponseType
            | Self::InvalidTarget
            | Self::InvalidRedirectUri
            | Self::InvalidClientMetadata
            | Self::InvalidSoftwareStatement
            | Self::UnapprovedSoftwareStatement
            | Self::UnsupportedTokenType => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_parses_back() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn unknown_code_does_not_parse() {
        assert_eq!(ErrorCode::parse("invalid_thing"), None);
    }

    #[test]
    fn statuses_follow_rfc6749_and_rfc6750() {
        assert_eq!(ErrorCode::InvalidRequest.status(), 400);
        assert_eq!(ErrorCode::InvalidClient.status(), 401);
        assert_eq!(ErrorCode::InvalidToken.status(), 401);
        assert_eq!(ErrorCode::InsufficientScope.status(), 403);
        assert_eq!(ErrorCode::TemporarilyUnavailable.status(), 503);
    }
}
