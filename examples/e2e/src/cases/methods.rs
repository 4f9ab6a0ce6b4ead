//! Request methods: `HEAD` on every `GET` route, `Allow` on 405 responses, and
//! authorization requests sent with `POST`.

use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use crate::cases::authorize::{assert_error_page, guide_query};
use crate::cases::metadata::SERVER_METADATA_PATH;
use crate::{Harness, Reply};

/// `HEAD` on each `GET` route gets the status and headers that `GET` gets and
/// no body (RFC 9110 §9.3.2). A `Content-Length`, if sent, is the length of
/// the `GET` body (RFC 9110 §8.6). The body's absence is checked on the raw
/// connection, since an HTTP client reads no body after `HEAD`.
pub async fn head_answers_like_get(harness: &Harness) {
    let http = harness.http();
    let authorize = format!("/oauth/authorize?{}", guide_query().0.encode());
    for path in [
        "/",
        SERVER_METADATA_PATH,
        "/.well-known/oauth-protected-resource/v1",
        "/.well-known/oauth-protected-resource/mcp",
        authorize.as_str(),
        "/v1/datasets",
    ] {
        let get = http.get(path, &[]).await;
        let head = http.send(Method::HEAD, path, &[], None).await;
        assert_eq!(
            head.status,
            get.status,
            "HEAD {path} gets the status of GET: {}",
            head.describe()
        );
        assert!(head.body.is_empty(), "HEAD {path} gets no body");
        if let Some(length) = head.header("content-length") {
            assert_eq!(
                length,
                get.body.len().to_string(),
                "HEAD {path}: Content-Length is the length of the GET body"
            );
        }
        let after_headers = raw_head(harness, path).await;
        assert_eq!(
            after_headers, "",
            "HEAD {path}: nothing follows the headers on the connection"
        );
        for name in [
            "content-type",
            "cache-control",
            "www-authenticate",
            "access-control-allow-origin",
        ] {
            assert_eq!(
                head.header(name),
                get.header(name),
                "HEAD {path}: {name} is the same as for GET"
            );
        }
    }
}

/// Sends `HEAD path` on a new connection with `Connection: close` and
/// returns what the server sent after the end of the headers.
async fn raw_head(harness: &Harness, path: &str) -> String {
    let base = Url::parse(harness.base_url()).expect("the base URL is valid");
    let host = base.host_str().expect("the base URL has a host");
    let port = base
        .port_or_known_default()
        .expect("the base URL has a port");
    let mut stream = TcpStream::connect((host, port))
        .await
        .unwrap_or_else(|error| panic!("connecting to {host}:{port} failed: {error}"));
    let request =
        format!("HEAD {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("sending the HEAD request succeeds");
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut received))
        .await
        .unwrap_or_else(|_| panic!("HEAD {path}: the server closes the connection"))
        .unwrap_or_else(|error| panic!("HEAD {path}: reading the response failed: {error}"));
    let text = String::from_utf8_lossy(&received);
    let (_, after) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("HEAD {path}: the response has a header block: {text:?}"));
    after.to_owned()
}

/// The `Allow` header of a 405 response (RFC 9110 §10.2.1) lists `HEAD`
/// wherever it lists `GET`, since `HEAD` is served wherever `GET` is.
pub async fn method_not_allowed_lists_head(harness: &Harness) {
    let http = harness.http();
    for (method, path) in [
        (Method::PUT, "/oauth/authorize"),
        (Method::POST, "/v1/datasets"),
        (Method::POST, SERVER_METADATA_PATH),
        (Method::DELETE, "/.well-known/oauth-protected-resource/v1"),
        (Method::POST, "/"),
    ] {
        let what = format!("{method} {path}");
        let reply = http.send(method, path, &[], None).await;
        assert_eq!(reply.status, 405, "{what}: 405: {}", reply.describe());
        let allow: Vec<&str> = reply
            .header("allow")
            .unwrap_or_else(|| panic!("{what}: the 405 has an Allow header"))
            .split(',')
            .map(str::trim)
            .collect();
        assert!(allow.contains(&"GET"), "{what}: Allow lists GET: {allow:?}");
        assert!(
            allow.contains(&"HEAD"),
            "{what}: Allow lists HEAD: {allow:?}"
        );
    }
}

/// An authorization request sent with `POST`, in the body or in the query,
/// gets the error page saying that authorization requests are sent with `GET`.
pub async fn post_authorization_request_shows_get_hint(harness: &Harness) {
    let http = harness.http();
    let query = guide_query().0.encode();
    let in_body = http.post_form("/oauth/authorize", &query, &[]).await;
    assert_get_hint(&in_body, "the request in the body");
    let path = format!("/oauth/authorize?{query}");
    let in_query = http.post_form(&path, "", &[]).await;
    assert_get_hint(&in_query, "the request in the query");
}

#[track_caller]
fn assert_get_hint(reply: &Reply, what: &str) {
    assert_error_page(reply, 400, what);
    assert!(
        reply.text().contains("sent with GET"),
        "{what}: the page says authorization requests are sent with GET: {}",
        reply.text()
    );
}
