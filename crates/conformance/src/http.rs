//! The HTTP client: no redirect following, bounded time and body size, one
//! bounded retry after a short 429, and a cookie jar that each authorization
//! flow owns.

use std::cell::Cell;
use std::io::Read as _;
use std::time::Duration;

use serde_json::{Map, Value};
use ureq::http;
use url::Url;

/// Largest response body read, in bytes; the rest is dropped.
pub(crate) const MAX_BODY: u64 = 1024 * 1024;

/// Longest `Retry-After` of a 429, in seconds, that the client waits out
/// before it sends the request once more.
pub(crate) const MAX_RETRY_WAIT_SECS: u64 = 5;

/// Total seconds one run may spend waiting out 429 responses.
const RETRY_WAIT_BUDGET_SECS: u64 = 60;

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

/// A 429 Too Many Requests that the client did not wait out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RateLimited {
    /// The `Retry-After` header as received, if any.
    pub(crate) retry_after: Option<String>,
}

impl RateLimited {
    /// Returns the 429 of `response`, or `None` for any other status.
    pub(crate) fn of(response: &HttpResponse) -> Option<Self> {
        (response.status == 429).then(|| Self {
            retry_after: response.header("retry-after").map(str::to_owned),
        })
    }

    /// Describes the 429 as the reason a check skips.
    pub(crate) fn skip_reason(&self) -> String {
        let detail = match self.retry_after.as_deref().map(str::trim) {
            Some(value) => match parse_delay_seconds(value) {
                Some(seconds) => format!("Retry-After {seconds} s"),
                None => format!("Retry-After {value}"),
            },
            None => String::from("no Retry-After"),
        };
        format!("the server rate-limited the kit (429, {detail}); run again later")
    }
}

/// Parses a `Retry-After` in its delay-seconds form (RFC 9110 §10.2.3).
/// The HTTP-date form gives `None`, so such a 429 is never waited out.
fn parse_delay_seconds(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// The blocking HTTP client every check uses.
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    /// Whether a 429 with a `Retry-After` of at most [`MAX_RETRY_WAIT_SECS`]
    /// is waited out and the request sent once more.
    retry_rate_limited: Cell<bool>,
    /// Seconds of waiting left from [`RETRY_WAIT_BUDGET_SECS`].
    wait_budget: Cell<u64>,
    /// The last 429 that was not waited out, until [`HttpClient::take_rate_limited`].
    rate_limited: Cell<Option<RateLimited>>,
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
            retry_rate_limited: Cell::new(true),
            wait_budget: Cell::new(RETRY_WAIT_BUDGET_SECS),
            rate_limited: Cell::new(None),
        }
    }

    /// Sets whether a 429 with a short `Retry-After` is waited out and the
    /// request sent once more. A check that tests rate limiting turns it off,
    /// because the 429 is what it looks for.
    pub(crate) fn set_retry_rate_limited(&self, retry: bool) {
        self.retry_rate_limited.set(retry);
    }

    /// Returns the last 429 that was not waited out since the previous call, and clears it.
    pub(crate) fn take_rate_limited(&self) -> Option<RateLimited> {
        self.rate_limited.take()
    }

    /// Sends a request and reads at most [`MAX_BODY`] bytes of the response body.
    ///
    /// A 429 whose `Retry-After` is at most [`MAX_RETRY_WAIT_SECS`] seconds is
    /// waited out and the request sent once more, while the run's waiting
    /// budget lasts and unless [`HttpClient::set_retry_rate_limited`] turned
    /// it off. A 429 that remains is returned, and remembered for
    /// [`HttpClient::take_rate_limited`].
    pub(crate) fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = self.send_once(request)?;
        let Some(limited) = RateLimited::of(&response) else {
            return Ok(response);
        };
        let wait = limited
            .retry_after
            .as_deref()
            .and_then(parse_delay_seconds)
            .filter(|&wait| wait <= MAX_RETRY_WAIT_SECS && wait <= self.wait_budget.get());
        let Some(wait) = wait.filter(|_| self.retry_rate_limited.get()) else {
            self.rate_limited.set(Some(limited));
            return Ok(response);
        };
        self.wait_budget.set(self.wait_budget.get() - wait);
        tracing::info!(
            method = %response.request.method,
            path = %path_of(&response.request.url),
            wait_secs = wait,
            "rate-limited with 429; sending the request once more after Retry-After"
        );
        std::thread::sleep(Duration::from_secs(wait));
        let retried = self.send_once(response.request)?;
        if let Some(limited) = RateLimited::of(&retried) {
            self.rate_limited.set(Some(limited));
        }
        Ok(retried)
    }

    /// Sends a request once, whatever the response.
    fn send_once(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
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

    #[test]
    fn retry_after_delay_seconds() {
        assert_eq!(parse_delay_seconds("5"), Some(5));
        assert_eq!(parse_delay_seconds(" 0 "), Some(0));
        assert_eq!(parse_delay_seconds("-1"), None);
        assert_eq!(parse_delay_seconds("1.5"), None);
        assert_eq!(parse_delay_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_delay_seconds(""), None);
    }

    #[test]
    fn rate_limit_skip_reasons() {
        let limited = |value: Option<&str>| RateLimited {
            retry_after: value.map(str::to_owned),
        };
        assert_eq!(
            limited(Some("60")).skip_reason(),
            "the server rate-limited the kit (429, Retry-After 60 s); run again later"
        );
        assert_eq!(
            limited(Some("Wed, 21 Oct 2015 07:28:00 GMT")).skip_reason(),
            "the server rate-limited the kit (429, Retry-After Wed, 21 Oct 2015 07:28:00 GMT); \
             run again later"
        );
        assert_eq!(
            limited(None).skip_reason(),
            "the server rate-limited the kit (429, no Retry-After); run again later"
        );
    }

    /// Serves one canned response per connection on `127.0.0.1`, in order, and
    /// returns the base URL and a handle that yields the number of requests served.
    fn serve_canned(responses: &[&'static str]) -> (String, std::thread::JoinHandle<usize>) {
        use std::io::{BufRead as _, BufReader, Write as _};

        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("binding 127.0.0.1:0 failed: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("a bound listener has no address: {e}"));
        let responses = responses.to_vec();
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for response in responses {
                let Ok((stream, _)) = listener.accept() else {
                    break;
                };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let mut stream = reader.into_inner();
                let written = stream.write_all(response.as_bytes());
                served += 1;
                if written.is_err() {
                    break;
                }
            }
            served
        });
        (format!("http://{addr}/"), handle)
    }

    const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    const LIMITED_1S: &str = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\n\
                              content-length: 0\r\nconnection: close\r\n\r\n";
    const LIMITED_0S: &str = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\n\
                              content-length: 0\r\nconnection: close\r\n\r\n";
    const LIMITED_60S: &str = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 60\r\n\
                               content-length: 0\r\nconnection: close\r\n\r\n";

    fn served(handle: std::thread::JoinHandle<usize>) -> usize {
        handle
            .join()
            .unwrap_or_else(|_| panic!("the canned server panicked"))
    }

    #[test]
    fn short_429_is_waited_out_and_sent_again() {
        let (url, server) = serve_canned(&[LIMITED_1S, OK]);
        let client = HttpClient::new(Duration::from_secs(10));
        let response = client.send(HttpRequest::get(url));
        let response = response.unwrap_or_else(|e| panic!("the request failed: {}", e.message));
        assert_eq!(response.status, 200);
        // The one second waited is taken from the run's budget.
        assert_eq!(client.wait_budget.get(), RETRY_WAIT_BUDGET_SECS - 1);
        assert_eq!(client.take_rate_limited(), None);
        assert_eq!(served(server), 2);
    }

    #[test]
    fn long_429_is_returned_and_remembered() {
        let (url, server) = serve_canned(&[LIMITED_60S]);
        let client = HttpClient::new(Duration::from_secs(10));
        let response = client.send(HttpRequest::get(url));
        let response = response.unwrap_or_else(|e| panic!("the request failed: {}", e.message));
        assert_eq!(response.status, 429);
        assert_eq!(
            client.take_rate_limited(),
            Some(RateLimited {
                retry_after: Some("60".to_owned())
            })
        );
        assert_eq!(client.take_rate_limited(), None);
        assert_eq!(served(server), 1);
    }

    #[test]
    fn second_429_is_not_retried_again() {
        let (url, server) = serve_canned(&[LIMITED_0S, LIMITED_0S, OK]);
        let client = HttpClient::new(Duration::from_secs(10));
        let response = client.send(HttpRequest::get(url.clone()));
        let response = response.unwrap_or_else(|e| panic!("the request failed: {}", e.message));
        assert_eq!(response.status, 429);
        assert!(client.take_rate_limited().is_some());
        // The third canned response lets the server thread finish.
        let last = client.send(HttpRequest::get(url));
        assert!(last.is_ok_and(|r| r.status == 200));
        assert_eq!(served(server), 3);
    }

    #[test]
    fn spent_budget_stops_retries() {
        let (url, server) = serve_canned(&[LIMITED_1S]);
        let client = HttpClient::new(Duration::from_secs(10));
        client.wait_budget.set(0);
        let response = client.send(HttpRequest::get(url));
        let response = response.unwrap_or_else(|e| panic!("the request failed: {}", e.message));
        assert_eq!(response.status, 429);
        assert!(client.take_rate_limited().is_some());
        assert_eq!(served(server), 1);
    }

    #[test]
    fn retry_can_be_turned_off() {
        let (url, server) = serve_canned(&[LIMITED_0S]);
        let client = HttpClient::new(Duration::from_secs(10));
        client.set_retry_rate_limited(false);
        let response = client.send(HttpRequest::get(url));
        let response = response.unwrap_or_else(|e| panic!("the request failed: {}", e.message));
        assert_eq!(response.status, 429);
        assert!(client.take_rate_limited().is_some());
        assert_eq!(served(server), 1);
    }
}
