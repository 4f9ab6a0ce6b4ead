use thiserror::Error;
use url::Url;

/// Maximum length of a redirect URI accepted at registration, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

/// Cause of a redirect URI that cannot be registered (RFC 8252 §7, RFC 9700 §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RedirectUriError {
    /// Not an absolute URI, or longer than [`MAX_REDIRECT_URI_BYTES`].
    #[error("redirect URI is not an absolute URI")]
    NotAbsolute,
    /// Carries a fragment (RFC 6749 §3.1.2).
    #[error("redirect URI has a fragment")]
    Fragment,
    /// Carries a user name or password.
    #[error("redirect URI has userinfo")]
    Userinfo,
    /// Contains `*`; redirect URIs are matched exactly, never as patterns.
    #[error("redirect URI has a wildcard")]
    Wildcard,
    /// `javascript:`, `data:`, `file:` or another scheme that runs or reads locally.
    #[error("redirect URI scheme is not allowed")]
    DangerousScheme,
    /// `http` on a host other than `127.0.0.1`, `[::1]` or `localhost`.
    #[error("http redirect URIs must use a loopback host")]
    PlainHttp,
    /// A private-use scheme that is not in reverse-domain form, not followed by
    /// a single-slash path, or on a confidential client.
    #[error(
        "private-use scheme must be reverse-domain, with a single-slash path, on a public client"
    )]
    PrivateScheme,
    /// The URI is not written the way a URL parser writes it (upper-case scheme
    /// or host, a default port, dot segments, odd escapes). Redirect URIs are
    /// compared as raw strings, so only the normalised form is registered.
    #[error("redirect URI is not in normalised form")]
    NotNormalised,
}

/// Checks a redirect URI for registration.
///
/// Accepted: `https` URIs; `http` URIs on `127.0.0.1`, `[::1]` or `localhost`
/// (RFC 8252 §7.3); and, for public clients only, private-use schemes in
/// reverse-domain form such as `com.example.app:/cb` (RFC 8252 §7.1).
///
/// # Errors
///
/// [`RedirectUriError`] naming the rule the URI breaks.
///
/// ```
/// use portcullis_grants::validate_redirect_uri;
///
/// assert!(validate_redirect_uri("https://app.example/cb", false).is_ok());
/// assert!(validate_redirect_uri("http://127.0.0.1/cb", true).is_ok());
/// assert!(validate_redirect_uri("com.example.app:/cb", true).is_ok());
/// assert!(validate_redirect_uri("http://app.example/cb", false).is_err());
/// assert!(validate_redirect_uri("https://app.example/cb#x", false).is_err());
/// ```
pub fn validate_redirect_uri(uri: &str, public_client: bool) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_REDIRECT_URI_BYTES
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RedirectUriError::NotAbsolute);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard);
    }
    let parsed = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RedirectUriError::Userinfo);
    }
    let web = matches!(parsed.scheme(), "http" | "https");
    if web && parsed.as_str() != uri {
        return Err(RedirectUriError::NotNormalised);
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "https" => Err(RedirectUriError::NotAbsolute),
        "http" if split_loopback(uri).is_some() => Ok(()),
        "http" => Err(RedirectUriError::PlainHttp),
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ftp" | "ws" | "wss" => {
            Err(RedirectUriError::DangerousScheme)
        }
        scheme if public_client && scheme.contains('.') && is_single_slash_path(uri, scheme) => {
            Ok(())
        }
        _ => Err(RedirectUriError::PrivateScheme),
    }
}

/// Returns `true` when a private-use URI is `scheme:/path`, with no authority
/// (RFC 8252 §7.1 uses a single slash after the scheme).
fn is_single_slash_path(uri: &str, scheme: &str) -> bool {
    let rest = &uri[scheme.len() + 1..];
    rest.starts_with('/') && !rest.starts_with("//") && rest.len() > 1
}

/// Checks a requested redirect URI against one registered URI.
///
/// The comparison is on raw strings, never after parsing, so case, ports and
/// dot segments must match as registered. The one exception is the port of an
/// `http` loopback URI, which the client picks at run time (RFC 8252 §7.3).
/// The host must still match exactly, so `localhost` never matches `127.0.0.1`.
///
/// ```
/// use portcullis_grants::redirect_uri_matches;
///
/// assert!(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:53117/cb"));
/// assert!(!redirect_uri_matches("http://127.0.0.1/cb", "http://[::1]:53117/cb"));
/// assert!(!redirect_uri_matches("https://app.example/cb", "https://APP.example/cb"));
/// ```
pub fn redirect_uri_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (split_loopback(registered), split_loopback(requested)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// Splits `http://HOST[:PORT]REST` into `(HOST, REST)` when HOST is a loopback name.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let after_scheme = uri.strip_prefix("http://")?;
    let host_end = if after_scheme.starts_with('[') {
        after_scheme.find(']')? + 1
    } else {
        after_scheme
            .find([':', '/', '?'])
            .unwrap_or(after_scheme.len())
    };
    let (host, after_host) = after_scheme.split_at(host_end);
    if !matches!(host, "127.0.0.1" | "[::1]" | "localhost") {
        return None;
    }
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            // A port is 1 to 65535; anything else cannot be connected to, and
            // the response could not be delivered (RFC 8252 §7.3).
            match port_and_rest[..digits].parse::<u16>() {
                Ok(port) if port > 0 => &port_and_rest[digits..],
                _ => return None,
            }
        }
        None => after_host,
    };
    if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') {
        Some((host, rest))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_match_is_raw_string_equality() {
        let registered = "https://app.example/cb";
        for requested in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example/cb#f",
            "https://app.example/cb2",
            "https://app.example:443/cb",
            "https://app.example/./cb",
        ] {
            assert!(!redirect_uri_matches(registered, requested), "{requested}");
        }
        assert!(redirect_uri_matches(registered, registered));
    }

    #[test]
    fn loopback_port_is_free_but_path_and_host_are_not() {
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53117/cb"
        ));
        assert!(redirect_uri_matches(
            "http://localhost:5000/callback",
            "http://localhost:41234/callback"
        ));
        assert!(redirect_uri_matches("http://[::1]/cb", "http://[::1]:8/cb"));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53117/cb2"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost/callback",
            "http://127.0.0.1:41234/callback"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:/cb"
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1.evil.example/cb"
        ));
        assert!(!redirect_uri_matches(
            "https://127.0.0.1/cb",
            "https://127.0.0.1:9/cb"
        ));
    }

    #[test]
    fn registration_rules() {
        let ok_public = [
            "http://127.0.0.1/cb",
            "http://localhost/cb",
            "com.example.app:/cb",
            "https://app.example/cb",
            "http://[::1]:9/cb",
        ];
        for uri in ok_public {
            assert_eq!(validate_redirect_uri(uri, true), Ok(()), "{uri}");
        }
        let rejected = [
            ("http://app.example/cb", RedirectUriError::PlainHttp),
            ("https://app.example/cb#x", RedirectUriError::Fragment),
            ("myapp:/cb", RedirectUriError::PrivateScheme),
            ("https://*.example/cb", RedirectUriError::Wildcard),
            ("https://u:p@app.example/cb", RedirectUriError::Userinfo),
            ("javascript:alert(1)", RedirectUriError::DangerousScheme),
            ("data:text/html,x", RedirectUriError::DangerousScheme),
            ("file:///etc/passwd", RedirectUriError::DangerousScheme),
            ("/relative", RedirectUriError::NotAbsolute),
            (
                "http://127.0.0.1.evil.example/cb",
                RedirectUriError::PlainHttp,
            ),
        ];
        for (uri, expected) in rejected {
            assert_eq!(validate_redirect_uri(uri, true), Err(expected), "{uri}");
        }
        assert_eq!(
            validate_redirect_uri("com.example.app:/cb", false),
            Err(RedirectUriError::PrivateScheme)
        );
    }
}
