use base64ct::{Base64UrlUnpadded, Encoding};
use http::HeaderMap;
use http::header::COOKIE;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a browser session lasts, in seconds.
pub const SESSION_LIFETIME: u64 = 12 * 3600;
/// How long a pending authorization request waits for the user, in seconds.
pub const PENDING_LIFETIME: u64 = 600;
/// How long the browser cookie lasts, in seconds; every consent page renews it.
pub(crate) const BROWSER_COOKIE_LIFETIME: u64 = 30 * 24 * 3600;

/// One of the two cookies of the consent page.
///
/// The browser cookie is a random id that every browser opening the consent
/// page gets, and the server stores no row for it. Pending requests and CSRF
/// tokens are bound to it, so a visitor who never signs in costs no session
/// row. It keeps its value at sign-in, so consent forms open in other tabs
/// stay valid after the user signs in on one of them.
///
/// The session cookie names a stored session of a signed-in user. Only a
/// sign-in sets it, and every sign-in gives it a new value, so a session id
/// known to someone before sign-in never becomes signed in (session fixation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cookie {
    /// The random browser id that pending requests and CSRF tokens are bound to.
    Browser,
    /// The id of a signed-in user's session.
    Session,
}

impl Cookie {
    fn lifetime(self) -> u64 {
        match self {
            Self::Browser => BROWSER_COOKIE_LIFETIME,
            Self::Session => SESSION_LIFETIME,
        }
    }
}

/// The cookies' names and attributes for one issuer.
#[derive(Clone, Debug)]
pub(crate) struct CookiePolicy {
    secure: bool,
}

impl CookiePolicy {
    /// Uses the `__Host-` prefix and `Secure` on an https issuer.
    pub(crate) fn for_issuer(issuer: &str) -> Self {
        Self {
            secure: issuer.starts_with("https://"),
        }
    }

    fn name(&self, cookie: Cookie) -> &'static str {
        match (cookie, self.secure) {
            (Cookie::Browser, true) => "__Host-portcullis_browser",
            (Cookie::Browser, false) => "portcullis_browser",
            (Cookie::Session, true) => "__Host-portcullis_session",
            (Cookie::Session, false) => "portcullis_session",
        }
    }

    /// Reads a cookie's value from the `Cookie` headers.
    pub(crate) fn read<'h>(&self, cookie: Cookie, headers: &'h HeaderMap) -> Option<&'h str> {
        let name = self.name(cookie);
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Reads the browser id, ignoring a value the server cannot have generated.
    pub(crate) fn read_browser_id<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        self.read(Cookie::Browser, headers)
            .filter(|value| is_generated_secret(value))
    }

    /// Builds the `Set-Cookie` value that stores `value` in `cookie`.
    ///
    /// `SameSite=Lax`, not `Strict`: the user arrives from the client's site, and
    /// a strict cookie would be dropped on that first navigation. `Lax` still
    /// keeps both cookies off cross-site form posts.
    pub(crate) fn set(&self, cookie: Cookie, value: &str) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.name(cookie),
            cookie.lifetime(),
        )
    }
}

/// Returns whether `value` has the form of `generate_secret`'s output: 32
/// bytes in unpadded base64url.
fn is_generated_secret(value: &str) -> bool {
    value.len() == 43 && Base64UrlUnpadded::decode_vec(value).is_ok_and(|bytes| bytes.len() == 32)
}

/// Derives the CSRF token of a consent form from its browser id and pending request.
///
/// Both inputs are secrets the attacker lacks: the browser id lives in an
/// `HttpOnly` cookie, and the request id only in the page served to that browser.
pub(crate) fn csrf_token(browser_id: &str, request_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"portcullis consent csrf\0");
    hasher.update(browser_id.as_bytes());
    hasher.update(b"\0");
    hasher.update(request_id.as_bytes());
    Base64UrlUnpadded::encode_string(&hasher.finalize())
}

/// Checks a submitted CSRF token in constant time.
pub(crate) fn csrf_matches(browser_id: &str, request_id: &str, submitted: &str) -> bool {
    csrf_token(browser_id, request_id)
        .as_bytes()
        .ct_eq(submitted.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const BROWSER_ID: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn cookies_are_read_among_others() {
        let policy = CookiePolicy::for_issuer("http://127.0.0.1:8080");
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!(
                "a=1; portcullis_session=abc; b=2; portcullis_browser={BROWSER_ID}"
            ))
            .unwrap(),
        );
        assert_eq!(policy.read(Cookie::Session, &headers), Some("abc"));
        assert_eq!(policy.read_browser_id(&headers), Some(BROWSER_ID));
    }

    #[test]
    fn browser_id_must_look_generated() {
        let policy = CookiePolicy::for_issuer("http://127.0.0.1:8080");
        for value in [
            "abc",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!",
            &"A".repeat(44),
        ] {
            let mut headers = HeaderMap::new();
            let cookie = format!("portcullis_browser={value}");
            headers.insert(COOKIE, HeaderValue::from_str(&cookie).unwrap());
            assert_eq!(policy.read_browser_id(&headers), None, "{value:?}");
        }
    }

    #[test]
    fn https_issuer_gets_host_prefix_and_secure() {
        let policy = CookiePolicy::for_issuer("https://as.example");
        for (cookie, name) in [
            (Cookie::Session, "__Host-portcullis_session=id"),
            (Cookie::Browser, "__Host-portcullis_browser=id"),
        ] {
            let set = policy.set(cookie, "id");
            assert!(set.starts_with(name), "{set}");
            assert!(set.contains("; Secure"), "{set}");
            assert!(set.contains("; HttpOnly"), "{set}");
            assert!(set.contains("; SameSite=Lax"), "{set}");
            assert!(set.contains("; Path=/"), "{set}");
        }
        let plain = CookiePolicy::for_issuer("http://127.0.0.1:8080").set(Cookie::Browser, "id");
        assert!(plain.starts_with("portcullis_browser=id"), "{plain}");
        assert!(!plain.contains("Secure"), "{plain}");
    }

    #[test]
    fn csrf_depends_on_browser_and_request() {
        let token = csrf_token("browser", "request");
        assert!(csrf_matches("browser", "request", &token));
        assert!(!csrf_matches("other", "request", &token));
        assert!(!csrf_matches("browser", "other", &token));
    }
}
