use std::fmt::Write as _;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use portcullis_grants::{Client, ClientOrigin};
use portcullis_scopes::{ScopeCatalog, ScopeSet};

/// What the consent page shows and carries.
pub(crate) struct ConsentPage<'a> {
    pub(crate) client: &'a Client,
    pub(crate) redirect_uri: &'a str,
    pub(crate) catalog: &'a ScopeCatalog,
    pub(crate) scope: ScopeSet,
    /// The signed-in user's name, or `None` to show the sign-in inputs.
    pub(crate) username: Option<&'a str>,
    pub(crate) request_id: &'a str,
    pub(crate) csrf: &'a str,
    /// A message above the form, such as a failed sign-in.
    pub(crate) notice: Option<&'a str>,
}

/// Renders the login and consent page.
///
/// The form posts to `/oauth/authorize` with `username` and `password` (only
/// before sign-in), the hidden `request_id` and `csrf`, and two submit buttons
/// named `decision` with the values `approve` and `deny`.
pub(crate) fn consent(page: &ConsentPage<'_>, status: StatusCode) -> Response<Bytes> {
    let mut html = String::with_capacity(4096);
    let client_name = escape(&page.client.name);
    let redirect_host = host_of(page.redirect_uri);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Authorize {client_name}</title><style>{STYLE}</style></head><body><main>\
         <h1>Authorize {client_name}</h1>\
         <p class=\"client\">Client ID <code>{}</code>. Your answer returns you to <strong>{}</strong>.</p>",
        escape(&page.client.id),
        escape(&redirect_host),
    );
    if page.client.origin == ClientOrigin::Dynamic {
        html.push_str(
            "<p class=\"warning\" id=\"unverified\">This application registered itself and is \
             unverified. Approve only if you started this sign-in.</p>",
        );
    }
    if is_loopback_redirect(page.redirect_uri) {
        html.push_str(
            "<p class=\"warning\" id=\"localhost\">The response goes to an application on this \
             computer (a localhost address).</p>",
        );
    }
    if let Some(notice) = page.notice {
        let _ = write!(
            html,
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(notice)
        );
    }
    html.push_str("<p>It asks for permission to:</p><ul class=\"scopes\">");
    for (name, description) in page.catalog.describe(page.scope) {
        let _ = write!(
            html,
            "<li><code>{}</code> {}</li>",
            escape(name),
            escape(description)
        );
    }
    html.push_str("</ul><form method=\"post\" action=\"/oauth/authorize\">");
    match page.username {
        Some(username) => {
            let _ = write!(
                html,
                "<p>Signed in as <strong>{}</strong>.</p>",
                escape(username)
            );
        }
        None => html.push_str(
            "<label>Username <input name=\"username\" autocomplete=\"username\" required></label>\
             <label>Password <input name=\"password\" type=\"password\" \
             autocomplete=\"current-password\" required></label>",
        ),
    }
    let _ = write!(
        html,
        "<input type=\"hidden\" name=\"request_id\" value=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <div class=\"buttons\"><button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></div>\
         </form></main></body></html>",
        escape(page.request_id),
        escape(page.csrf),
    );
    let form_action = format!("'self' {}", form_target(page.redirect_uri));
    html_response(status, html, &form_action)
}

/// Returns the CSP source that lets the consent form's 303 reach the client.
///
/// Browsers apply `form-action` to the redirects that follow a form
/// submission too (Content Security Policy Level 3, `form-action`), so the
/// redirect URI's origin, or its scheme for a private-use URI, must be allowed.
fn form_target(redirect_uri: &str) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(url) if url.host_str().is_some() => {
            let origin = url.origin().ascii_serialization();
            // An origin never contains the characters that end a CSP source.
            origin
                .chars()
                .filter(|c| !c.is_whitespace() && *c != ';' && *c != ',')
                .collect()
        }
        Ok(url) => format!("{}:", url.scheme()),
        Err(_) => String::new(),
    }
}

/// Renders the error page for errors that must not be redirected.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response<Bytes> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization error</title>\
         <style>{STYLE}</style></head><body><main><h1>Authorization error</h1>\
         <p class=\"error\"><code id=\"error\">{}</code></p><p id=\"error_description\">{}</p>\
         <p>Return to the application and start again.</p></main></body></html>",
        escape(code),
        escape(description),
    );
    html_response(status, html, "'none'")
}

/// Renders a page saying the user denied access, for clients not trusted with a redirect.
pub(crate) fn denied() -> Response<Bytes> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access denied</title>\
         <style>{STYLE}</style></head><body><main><h1>Access denied</h1>\
         <p>You denied the request. You can close this window.</p></main></body></html>"
    );
    html_response(StatusCode::OK, html, "'none'")
}

fn html_response(status: StatusCode, html: String, form_action: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page takes passwords and consent, so it must not be framed
    // (RFC 9700 §4.16) and leaks no referrer to the client.
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert("content-security-policy", value);
    }
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(ch),
        }
    }
    escaped
}

fn host_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(url) => match url.host_str() {
            Some(host) => host.to_owned(),
            None => format!("{}:", url.scheme()),
        },
        Err(_) => uri.to_owned(),
    }
}

fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|url| {
        url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
    })
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f5f5f7;margin:0}\
main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.4rem}label{display:block;margin:.8rem 0}\
input{display:block;width:100%;padding:.5rem;box-sizing:border-box}.buttons{display:flex;gap:1rem;\
margin-top:1.2rem}button{flex:1;padding:.6rem;font-size:1rem}button[value=approve]{background:#0b5cad;color:#fff;border:0;border-radius:4px}.warning{background:#fff4ce;\
padding:.6rem}.error{color:#a4262c}code{background:#eee;padding:0 .2rem}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn error_page_has_no_link_to_the_client() {
        let response = error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri does not match",
        );
        let body = std::str::from_utf8(response.body()).unwrap();
        assert!(!body.contains("href"));
        assert!(!body.contains("http-equiv"));
        assert_eq!(response.headers()["x-frame-options"], "DENY");
    }

    #[test]
    fn form_action_allows_the_redirect_origin() {
        assert_eq!(
            form_target("http://127.0.0.1:9/cb?x=1"),
            "http://127.0.0.1:9"
        );
        assert_eq!(form_target("https://app.example/cb"), "https://app.example");
        assert_eq!(form_target("com.example.app:/cb"), "com.example.app:");
    }
}
