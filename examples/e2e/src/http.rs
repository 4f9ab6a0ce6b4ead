//! An HTTP client for the server under test: no redirects followed, no proxy,
//! no cookie store, and whole responses read into memory.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use url::Url;

/// How long one request may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Ordered form or query parameters, repeats allowed.
///
/// Tests build invalid requests from valid ones by removing, replacing or
/// repeating parameters, so the order and repeats are kept as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Creates an empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a parameter, even when the name is already present.
    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.pairs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Removes every occurrence of `name`.
    #[must_use]
    pub fn without(mut self, name: &str) -> Self {
        self.pairs.retain(|(key, _)| key != name);
        self
    }

    /// Replaces every occurrence of `name` with one `name=value`, appended at the end.
    #[must_use]
    pub fn set(self, name: &str, value: &str) -> Self {
        self.without(name).with(name, value)
    }

    /// Returns the first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Encodes the parameters as `application/x-www-form-urlencoded`.
    pub fn encode(&self) -> String {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.pairs {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    }
}

/// A whole HTTP response.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// Returns the body as text, with invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Parses the body as JSON.
    ///
    /// # Panics
    ///
    /// Panics, showing the status and body, when the body is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "expected a JSON body, got status {} and body {:?}: {error}",
                self.status,
                self.text()
            )
        })
    }

    /// Returns the JSON `error` field, or `None` when the body has none.
    pub fn oauth_error(&self) -> Option<String> {
        let body: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        body.get("error")?.as_str().map(str::to_owned)
    }

    /// Returns the one value of header `name` as text.
    ///
    /// # Panics
    ///
    /// Panics when the header is repeated or not visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.get_all(name).iter();
        let value = values.next()?;
        assert!(
            values.next().is_none(),
            "header {name} must appear at most once"
        );
        Some(
            value
                .to_str()
                .unwrap_or_else(|_| panic!("header {name} is not visible ASCII")),
        )
    }

    /// Returns the `Location` header resolved against `base`.
    ///
    /// # Panics
    ///
    /// Panics when the header is not a valid URI reference.
    pub fn location(&self, base: &str) -> Option<Url> {
        let value = self.header("location")?;
        let base = Url::parse(base).expect("the base URL is valid");
        Some(
            base.join(value)
                .unwrap_or_else(|error| panic!("invalid Location {value:?}: {error}")),
        )
    }

    /// Returns the `name=value` pairs of the `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<(String, String)> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| value.split(';').next())
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
            .collect()
    }

    /// Summarises the reply for assertion messages: status, `Location` and body.
    pub fn describe(&self) -> String {
        format!(
            "status {}, Location {:?}, body {:?}",
            self.status,
            self.headers.get("location"),
            self.text()
        )
    }
}

/// A client for one server under test.
#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    base_url: String,
}

impl Http {
    /// Creates a client for the server at `base_url`, such as `http://127.0.0.1:8080`.
    ///
    /// # Panics
    ///
    /// Panics when the HTTP client cannot be built.
    pub fn new(base_url: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // The server under test is on loopback; a proxy from the environment
            // must never see its traffic.
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("the HTTP client builds");
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Returns the server's base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Returns the absolute URL of `path_and_query`, which starts with `/`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// Sends a request with optional headers and body and reads the whole response.
    ///
    /// # Panics
    ///
    /// Panics when the request fails at the HTTP level (connection refused or
    /// reset, timeout), which no input may cause.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method.clone(), self.url(path_and_query));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap_or_else(|error| {
            panic!("{method} {path_and_query} failed at the HTTP level: {error:?}")
        });
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_else(|error| {
            panic!("reading the body of {method} {path_and_query} failed: {error:?}")
        });
        Reply {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    /// Sends a GET request.
    pub async fn get(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path_and_query, headers, None).await
    }

    /// POSTs `body` as `application/x-www-form-urlencoded`.
    pub async fn post_form(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.send(Method::POST, path, &all, Some(body.as_bytes().to_vec()))
            .await
    }
}

/// Returns the query parameters of `url` as ordered pairs.
pub fn query_pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// Returns the one value of query parameter `name` in `url`.
///
/// # Panics
///
/// Panics when the parameter is repeated.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    let mut values = url
        .query_pairs()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned());
    let first = values.next()?;
    assert!(
        values.next().is_none(),
        "query parameter {name} appears more than once in {url}"
    );
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_keeps_order_and_repeats() {
        let form = Form::new()
            .with("scope", "a b")
            .with("state", "x")
            .with("scope", "c");
        assert_eq!(form.encode(), "scope=a+b&state=x&scope=c");
        assert_eq!(
            form.clone().set("state", "y").encode(),
            "scope=a+b&scope=c&state=y"
        );
        assert_eq!(form.without("scope").encode(), "state=x");
    }
}
