use base64ct::{Base64UrlUnpadded, Encoding};
use http::HeaderMap;
use http::header::COOKIE;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a browser session lasts, in seconds.
pub const SESSION_LIFETIME: u64 = 12 * 3600;
/// How long a pending authorization request waits for the user, in seconds.
pub const PENDING_LIFETIME: u64 = 600;

/// The session cookie's name and attributes for one issuer.
#[derive(Clone, Debug)]
pub(crate) struct CookiePolicy {
    name: &'static str,
    secure: bool,
}

impl CookiePolicy {
    /// Uses the `__Host-` prefix and `Secure` on an https issuer.
    pub(crate) fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            Self {
                name: "__Host-portcullis_session",
                secure: true,
            }
        } else {
            Self {
                name: "portcullis_session",
                secure: false,
            }
        }
    }

    /// Reads the session id from the `Cookie` headers.
    pub(crate) fn read<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Builds the `Set-Cookie` value for a session id.
    ///
    /// `SameSite=Lax`, not `Strict`: the user arrives from the client's site, and
    /// a strict cookie would be dropped on that first navigation.
    pub(crate) fn set(&self, session_id: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={session_id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_LIFETIME}{secure}",
            self.name
        )
    }
}

/// Derives the CSRF token of a consent form from its session and pending request.
///
/// Both inputs are secrets the attacker lacks: the session id lives in an
/// `HttpOnly` cookie, and the request id only in the page served to that session.
pub(crate) fn csrf_token(session_id: &str, request_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"portcullis consent csrf\0");
    hasher.update(session_id.as_bytes());
    hasher.update(b"\0");
    hasher.update(request_id.as_bytes());
    Base64UrlUnpadded::encode_string(&hasher.finalize())
}

/// Checks a submitted CSRF token in constant time.
pub(crate) fn csrf_matches(session_id: &str, request_id: &str, submitted: &str) -> bool {
    csrf_token(session_id, request_id)
        .as_bytes()
        .ct_eq(submitted.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn cookie_is_read_among_others() {
        let policy = CookiePolicy::for_issuer("http://127.0.0.1:8080");
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; portcullis_session=abc; b=2"),
        );
        assert_eq!(policy.read(&headers), Some("abc"));
    }

    #[test]
    fn https_issuer_gets_host_prefix_and_secure() {
        let cookie = CookiePolicy::for_issuer("https://as.example").set("id");
        assert!(cookie.starts_with("__Host-portcullis_session=id"));
        assert!(cookie.contains("Secure"));
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Lax"));
    }

    #[test]
    fn csrf_depends_on_session_and_request() {
        let token = csrf_token("session", "request");
        assert!(csrf_matches("session", "request", &token));
        assert!(!csrf_matches("other", "request", &token));
        assert!(!csrf_matches("session", "other", &token));
    }
}
