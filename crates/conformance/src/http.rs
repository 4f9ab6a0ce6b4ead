//! The HTTP client: no redirect following, bounded time and body size, and a
//! cookie jar that each authorization flow owns.

use std::io::Read as _;
use std::time::Duration;

use serde_json::{Map, Value};
use ureq::http;
use url::Url;

/// Largest response body read, in bytes; the rest is dropped.
pub(crate) const MAX_BODY: u64 = 1024 * 1024;

/// A request to send, kept whole so a failed check can show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// Builds a request with no headers and no body.
    pub(crate) fn new(method: &str, url: impl Into<String>) -> Self {
        Self {
            method: method.to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Builds a GET request.
    pub(crate) fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// Builds a POST with an `application/x-www-form-urlencoded` body. Repeated
    /// names are sent repeated, in order.
    pub(crate) fn post_form(url: impl Into<String>, pairs: &[(&str, &str)]) -> Self {
        Self::new("POST", url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode_form(pairs).into_bytes())
    }

    /// Builds a POST with a JSON body.
    pub(crate) fn post_json(url: impl Into<String>, body: &Value) -> Self {
        Self::new("POST", url)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub(crate) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }
}

/// Form-encodes name and value pairs, keeping order and repeats.
pub(crate) fn encode_form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A response, with the request that produced it.
#[derive(Clone, Debug)]
pub(crate) struct HttpResponse {
    pub(crate) request: HttpRequest,
    pub(crate) status: u16,
    /// Headers with lowercase names, in the order received.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the body was longer than [`MAX_BODY`] and was cut.
    pub(crate) truncated: bool,
}

impl HttpResponse {
    /// Returns the first header with this lowercase name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Returns every header with this lowercase name.
    pub(crate) fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Returns the body as text, replacing invalid UTF-8.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Returns the body as a JSON object, or `None` when it is not one.
    pub(crate) fn json_object(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.body) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }

    /// Returns the string member `name` of a JSON object body.
    pub(crate) fn json_str(&self, name: &str) -> Option<String> {
        self.json_object()?.get(name)?.as_str().map(str::to_owned)
    }

    /// Returns whether `Content-Type` names JSON (`application/json` or a `+json` type).
    pub(crate) fn is_json(&self) -> bool {
        let Some(content_type) = self.header("content-type") else {
            return false;
        };
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        let essence = essence.to_ascii_lowercase();
        essence == "application/json" || essence.ends_with("+json")
    }

    /// Returns whether the status is 301, 302, 303, 307 or 308.
    pub(crate) fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }

    /// Returns the `Location` header resolved against the request URL.
    pub(crate) fn location(&self) -> Option<Url> {
        let location = self.header("location")?;
        let base = Url::parse(&self.request.url).ok()?;
        base.join(location).ok()
    }

    /// Returns whether any `Cache-Control` header has the `no-store` directive.
    pub(crate) fn has_no_store(&self) -> bool {
        self.headers_named("cache-control").iter().any(|value| {
            value
                .split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        })
    }

    /// Describes the response in a few words for a failure reason: the status,
    /// and the `error` member or the `Location` if there is one.
    pub(crate) fn summary(&self) -> String {
        if let Some(error) = self.json_str("error") {
            return format!("{} with error={error}", self.status);
        }
        if self.is_redirect() {
            if let Some(location) = self.header("location") {
                let without_query = location.split(['?', '#']).next().unwrap_or_default();
                return format!("{} to {without_query}", self.status);
            }
        }
        self.status.to_string()
    }
}

/// A request that got no response.
#[derive(Clone, Debug)]
pub(crate) struct HttpError {
    pub(crate) request: HttpRequest,
    pub(crate) message: String,
}

/// The blocking HTTP client every check uses.
pub(crate) struct HttpClient {
    agent: ureq::Agent,
}

impl HttpClient {
    /// Creates a client whose every request, body included, ends within `timeout`.
    pub(crate) fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            // An environment proxy must not see loopback traffic or its secrets.
            .proxy(None)
            .user_agent("portcullis-conformance")
            .build();
        Self {
            agent: config.new_agent(),
        }
    }

    /// Sends a request and reads at most [`MAX_BODY`] bytes of the response body.
    pub(crate) fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        match self.try_send(&request) {
            Ok(RawResponse {
                status,
                headers,
                body,
                truncated,
            }) => {
                tracing::debug!(
                    method = %request.method,
                    path = %path_of(&request.url),
                    status,
                    "exchange"
                );
                Ok(HttpResponse {
                    request,
                    status,
                    headers,
                    body,
                    truncated,
                })
            }
            Err(message) => {
                tracing::debug!(
                    method = %request.method,
                    path = %path_of(&request.url),
                    error = %message,
                    "request failed"
                );
                Err(HttpError { request, message })
            }
        }
    }

    /// Sends a request with the jar's cookies and stores the cookies it sets.
    pub(crate) fn send_with_jar(
        &self,
        jar: &mut CookieJar,
        mut request: HttpRequest,
    ) -> Result<HttpResponse, HttpError> {
        if let Ok(url) = Url::parse(&request.url) {
            if let Some(cookie) = jar.header_for(&url) {
                request.headers.push(("cookie".to_owned(), cookie));
            }
        }
        let response = self.send(request)?;
        if let Ok(url) = Url::parse(&response.request.url) {
            for value in response.headers_named("set-cookie") {
                jar.store(&url, value);
            }
        }
        Ok(response)
    }

    fn try_send(&self, request: &HttpRequest) -> Result<RawResponse, String> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let result = match &request.body {
            Some(body) => builder.body(body.clone()).map(|r| self.agent.run(r)),
            None => builder.body(()).map(|r| self.agent.run(r)),
        };
        let mut response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => return Err(describe_error(&error)),
            Err(error) => return Err(format!("invalid request: {error}")),
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_owned(), value)
            })
            .collect();
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the response body failed: {e}"))?;
        let truncated = body.len() as u64 > MAX_BODY;
        if truncated {
            body.truncate(MAX_BODY as usize);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
            truncated,
        })
    }
}

/// The parts of a response before the request is attached to them.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    truncated: bool,
}

/// Returns the path of a URL without its query, for logs that must not hold secrets.
fn path_of(url: &str) -> String {
    match Url::parse(url) {
        Ok(url) => url.path().to_owned(),
        Err(_) => String::from("(invalid URL)"),
    }
}

fn describe_error(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => String::from("the request timed out"),
        ureq::Error::ConnectionFailed => String::from("the connection failed"),
        ureq::Error::HostNotFound => String::from("the host was not found"),
        other => format!("the request failed: {other}"),
    }
}

/// Cookies of one user agent session, sent back only to the host that set them.
#[derive(Clone, Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Vec<Cookie>,
}

#[derive(Clone, Debug)]
struct Cookie {
    name: String,
    value: String,
    host: String,
    path: String,
    secure: bool,
}

impl CookieJar {
    /// Stores one `Set-Cookie` value received from `url`. The `Domain` attribute
    /// is ignored, so every cookie is host-only, which is all a login page needs.
    pub(crate) fn store(&mut self, url: &Url, set_cookie: &str) {
        let Some(host) = url.host_str() else {
            return;
        };
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let name = name.trim().to_owned();
        if name.is_empty() {
            return;
        }
        let mut path = String::from("/");
        let mut secure = false;
        let mut delete = false;
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.trim().to_ascii_lowercase().as_str() {
                "path" if val.trim().starts_with('/') => path = val.trim().to_owned(),
                "secure" => secure = true,
                "max-age" => delete = val.trim().parse::<i64>().is_ok_and(|age| age <= 0),
                _ => {}
            }
        }
        self.cookies
            .retain(|c| !(c.name == name && c.host == host && c.path == path));
        if !delete {
            self.cookies.push(Cookie {
                name,
                value: value.trim().to_owned(),
                host: host.to_owned(),
                path,
                secure,
            });
        }
    }

    /// Returns the `Cookie` header value for a request to `url`, if any cookie applies.
    /// `Secure` cookies go only over https or to a loopback host.
    pub(crate) fn header_for(&self, url: &Url) -> Option<String> {
        let host = url.host_str()?;
        let secure_ok = url.scheme() == "https" || is_loopback_host(host);
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|c| c.host == host && path_matches(url.path(), &c.path))
            .filter(|c| !c.secure || secure_ok)
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        if pairs.is_empty() {
            None
        } else {
            Some(pairs.join("; "))
        }
    }

    /// Returns every cookie value, so the run can mask them.
    pub(crate) fn values(&self) -> impl Iterator<Item = &str> {
        self.cookies.iter().map(|c| c.value.as_str())
    }
}

/// Cookie path matching (RFC 6265 §5.1.4).
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    if request_path == cookie_path {
        return true;
    }
    request_path.starts_with(cookie_path)
        && (cookie_path.ends_with('/')
            || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/'))
}

/// Returns whether a host name or IP literal is a loopback address.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("bad test URL {s}: {e}"))
    }

    #[test]
    fn jar_returns_cookies_to_their_host_and_path() {
        let mut jar = CookieJar::default();
        let origin = url("http://127.0.0.1:8080/oauth/authorize");
        jar.store(&origin, "sid=abc; Path=/; HttpOnly; SameSite=Lax");
        jar.store(&origin, "scoped=1; Path=/oauth");
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1:8080/oauth/authorize"))
                .as_deref(),
            Some("sid=abc; scoped=1")
        );
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1:8080/oauthx"))
                .as_deref(),
            Some("sid=abc")
        );
        assert_eq!(jar.header_for(&url("http://localhost:8080/")), None);
    }

    #[test]
    fn jar_replaces_and_deletes() {
        let mut jar = CookieJar::default();
        let origin = url("http://127.0.0.1/");
        jar.store(&origin, "sid=one");
        jar.store(&origin, "sid=two");
        assert_eq!(jar.header_for(&origin).as_deref(), Some("sid=two"));
        jar.store(&origin, "sid=; Max-Age=0");
        assert_eq!(jar.header_for(&origin), None);
    }

    #[test]
    fn jar_ignores_malformed_cookies() {
        let mut jar = CookieJar::default();
        let origin = url("http://127.0.0.1/");
        jar.store(&origin, "no-equals-sign");
        jar.store(&origin, "=value");
        jar.store(&origin, "");
        assert_eq!(jar.header_for(&origin), None);
    }

    #[test]
    fn secure_cookies_need_https_or_loopback() {
        let mut jar = CookieJar::default();
        jar.store(&url("http://as.test/"), "__Host-sid=x; Secure; Path=/");
        assert_eq!(jar.header_for(&url("http://as.test/")), None);
        assert_eq!(
            jar.header_for(&url("https://as.test/")).as_deref(),
            Some("__Host-sid=x")
        );
        jar.store(&url("http://127.0.0.1/"), "__Host-sid=y; Secure; Path=/");
        assert_eq!(
            jar.header_for(&url("http://127.0.0.1/")).as_deref(),
            Some("__Host-sid=y")
        );
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback_host("127.0.0.1"));
        assert!(is_loopback_host("127.8.0.2"));
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("LocalHost"));
        assert!(!is_loopback_host("10.0.0.1"));
        assert!(!is_loopback_host("as.example"));
    }

    #[test]
    fn response_helpers() {
        let response = HttpResponse {
            request: HttpRequest::get("http://127.0.0.1:8080/oauth/authorize?x=1"),
            status: 303,
            headers: vec![
                ("location".into(), "/cb?code=c".into()),
                ("cache-control".into(), "private, No-Store".into()),
                (
                    "content-type".into(),
                    "application/json; charset=utf-8".into(),
                ),
            ],
            body: br#"{"error":"invalid_grant"}"#.to_vec(),
            truncated: false,
        };
        assert!(response.is_redirect());
        assert_eq!(
            response.location().map(String::from).as_deref(),
            Some("http://127.0.0.1:8080/cb?code=c")
        );
        assert!(response.has_no_store());
        assert!(response.is_json());
        assert_eq!(response.json_str("error").as_deref(), Some("invalid_grant"));
        assert_eq!(response.summary(), "303 with error=invalid_grant");
    }

    #[test]
    fn form_encoding_keeps_repeats() {
        assert_eq!(
            encode_form(&[("scope", "a b"), ("scope", "c/d"), ("x", "")]),
            "scope=a+b&scope=c%2Fd&x="
        );
    }
}
