//! Masking of secrets in recorded exchanges.
//!
//! Two layers apply. First, fields whose names carry secrets are masked by
//! name in query strings, form bodies, JSON bodies and the `input` elements
//! of HTML pages. These are `code`, `password`, `access_token`, `state`, a
//! form's `request_id` and `csrf`, and any name that contains `secret`,
//! `csrf` or the like.
//! The `Authorization`, `Cookie` and `Set-Cookie` headers are masked by name
//! too. Then every secret value the run has learnt is replaced wherever it
//! still appears. These are the configured client secret and password, each
//! code, token and verifier the run was issued or generated, and the values
//! of secret form fields on the pages it read. This second layer covers error
//! pages that echo a value and headers with unusual names.

use serde_json::Value;

use crate::html;
use crate::http::{HttpError, HttpResponse};
use crate::report::{Exchange, Header, RecordedRequest, RecordedResponse};

/// Text that replaces a secret.
pub(crate) const MASK: &str = "***";

/// Maximum length of a response body kept in a report, in bytes.
const REPORT_BODY_LIMIT: usize = 4096;

/// Shortest value masked wherever it appears; shorter ones would mask ordinary text.
const MIN_SECRET_LEN: usize = 6;

/// Field names whose values are secrets, in queries, forms and JSON, besides
/// those that [`SECRET_NAME_PARTS`] and a `token` ending mark. `state` and
/// `nonce` values tie a response to its request, and `request_id` names a
/// pending consent, so a report shows none of them.
const SECRET_FIELDS: [&str; 7] = [
    "code",
    "state",
    "nonce",
    "request_id",
    "session",
    "session_id",
    "sid",
];

/// Parts of a field name, in lowercase, that mark its value as a secret, such
/// as the `secret` of `client_secret` or the `csrf` of `csrf_token`.
const SECRET_NAME_PARTS: [&str; 6] = ["secret", "passw", "csrf", "xsrf", "verifier", "otp"];

/// Returns whether a field name suggests that its value is a secret: one of
/// [`SECRET_FIELDS`], a name containing one of [`SECRET_NAME_PARTS`], or a
/// name ending in `token`. `token_type` and `token_type_hint` do not end so,
/// and stay readable.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_FIELDS.contains(&name.as_str())
        || SECRET_NAME_PARTS.iter().any(|part| name.contains(part))
        || name.ends_with("token")
}

/// Secret values learnt during a run, and the masking that uses them.
#[derive(Default)]
pub(crate) struct Masker {
    secrets: Vec<String>,
    password_field: Option<String>,
}

impl Masker {
    /// Creates a masker that also masks the form field `password_field` by name.
    pub(crate) fn new(password_field: &str) -> Self {
        Self {
            secrets: Vec::new(),
            password_field: Some(password_field.to_owned()),
        }
    }

    /// Adds a secret value, and its form-encoded spelling if that differs.
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.len() < MIN_SECRET_LEN {
            return;
        }
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        for value in [secret.to_owned(), encoded] {
            if !self.secrets.contains(&value) {
                self.secrets.push(value);
            }
        }
        // Sort by length, longest first, so a secret that contains another is masked whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Replaces every known secret value in `text`.
    pub(crate) fn mask_values(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Returns whether the field `name` carries a secret.
    pub(crate) fn is_secret_field(&self, name: &str) -> bool {
        is_secret_name(name) || self.password_field.as_deref() == Some(name)
    }

    /// Masks secret fields of a query string or form body, keeping the rest as written.
    pub(crate) fn mask_form(&self, form: &str) -> String {
        let pairs: Vec<String> = form
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if self.is_secret_field(&decode_component(name)) => {
                    format!("{name}={MASK}")
                }
                _ => pair.to_owned(),
            })
            .collect();
        pairs.join("&")
    }

    /// Masks secret fields in the query of a URL.
    pub(crate) fn mask_url(&self, url: &str) -> String {
        let (head, fragment) = match url.split_once('#') {
            Some((head, fragment)) => (head, Some(fragment)),
            None => (url, None),
        };
        let mut out = match head.split_once('?') {
            Some((path, query)) => format!("{path}?{}", self.mask_form(query)),
            None => head.to_owned(),
        };
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(&self.mask_form(fragment));
        }
        self.mask_values(&out)
    }

    /// Masks secret members of a JSON document, at any depth.
    fn mask_json(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (name, member) in map.iter_mut() {
                    if self.is_secret_field(name) && !member.is_null() {
                        *member = Value::String(MASK.to_owned());
                    } else {
                        self.mask_json(member);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            _ => {}
        }
    }

    /// Masks a body: JSON members by name, form fields by name, HTML `input`
    /// values by the input's name, then known values.
    fn mask_body(&self, body: &str, content_type: Option<&str>) -> String {
        let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
        if let Ok(mut json) = serde_json::from_str::<Value>(body) {
            if json.is_object() || json.is_array() {
                self.mask_json(&mut json);
                return self.mask_values(&json.to_string());
            }
        }
        if content_type.starts_with("application/x-www-form-urlencoded") {
            return self.mask_values(&self.mask_form(body));
        }
        if content_type.contains("html") {
            let masked = html::mask_input_values(body, |name| self.is_secret_field(name), MASK);
            return self.mask_values(&masked);
        }
        self.mask_values(body)
    }

    /// Masks one header value by its name.
    fn mask_header(&self, name: &str, value: &str) -> String {
        match name.to_ascii_lowercase().as_str() {
            "authorization" | "proxy-authorization" => match value.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} {MASK}"),
                None => MASK.to_owned(),
            },
            "cookie" => mask_cookie_pairs(value, "; "),
            "set-cookie" => {
                // Keep the attributes, which the kit inspects, and mask the value.
                let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
                let masked = mask_cookie_pairs(pair, "; ");
                if attributes.is_empty() {
                    masked
                } else {
                    format!("{masked};{attributes}")
                }
            }
            "location" | "content-location" => self.mask_url(value),
            _ => self.mask_values(value),
        }
    }

    /// Records a response and the request behind it, with secrets masked.
    pub(crate) fn exchange(&self, response: &HttpResponse) -> Exchange {
        let request = &response.request;
        let body_text = String::from_utf8_lossy(&response.body);
        let masked_body = self.mask_body(&body_text, response.header("content-type"));
        let (body, cut) = cut_text(&masked_body, REPORT_BODY_LIMIT);
        Exchange {
            request: self.record_request(request),
            response: Some(RecordedResponse {
                status: response.status,
                headers: response
                    .headers
                    .iter()
                    .map(|(name, value)| Header {
                        name: name.clone(),
                        value: self.mask_header(name, value),
                    })
                    .collect(),
                body,
                body_truncated: cut || response.truncated,
            }),
            error: None,
        }
    }

    /// Records a request that got no response, with secrets masked.
    pub(crate) fn failed_exchange(&self, error: &HttpError) -> Exchange {
        Exchange {
            request: self.record_request(&error.request),
            response: None,
            error: Some(self.mask_values(&error.message)),
        }
    }

    fn record_request(&self, request: &crate::http::HttpRequest) -> RecordedRequest {
        let content_type = request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        RecordedRequest {
            method: request.method.clone(),
            url: self.mask_url(&request.url),
            headers: request
                .headers
                .iter()
                .map(|(name, value)| Header {
                    name: name.clone(),
                    value: self.mask_header(name, value),
                })
                .collect(),
            body: request
                .body
                .as_ref()
                .map(|b| self.mask_body(&String::from_utf8_lossy(b), content_type)),
        }
    }
}

/// Masks the value of each `name=value` pair in a cookie list.
fn mask_cookie_pairs(list: &str, separator: &str) -> String {
    list.split(';')
        .map(|pair| match pair.trim().split_once('=') {
            Some((name, _)) => format!("{name}={MASK}"),
            None => pair.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(separator)
}

/// Decodes one form-encoded component for comparing field names.
fn decode_component(component: &str) -> String {
    url::form_urlencoded::parse(format!("{component}=").as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

/// Cuts text to at most `limit` bytes on a character boundary; returns whether it cut.
fn cut_text(text: &str, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text.to_owned(), false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpRequest;

    fn masker() -> Masker {
        let mut masker = Masker::new("passwd");
        masker.add("s3cret-value");
        masker.add("fltr_at_abc/def+ghi");
        masker
    }

    #[test]
    fn masks_form_fields_by_name() {
        let masked = masker().mask_form(
            "grant_type=authorization_code&code=abc&code_verifier=v&client_id=app&passwd=x",
        );
        assert_eq!(
            masked,
            "grant_type=authorization_code&code=***&code_verifier=***&client_id=app&passwd=***"
        );
    }

    #[test]
    fn masks_encoded_field_names() {
        assert_eq!(
            masker().mask_form("client%5Fsecret=zz&a=b"),
            "client%5Fsecret=***&a=b"
        );
    }

    #[test]
    fn masks_url_query_and_fragment() {
        let masked = masker().mask_url("http://127.0.0.1/cb?code=xyz&state=s1#access_token=t&x=1");
        assert_eq!(
            masked,
            "http://127.0.0.1/cb?code=***&state=***#access_token=***&x=1"
        );
    }

    #[test]
    fn secret_names() {
        let masker = masker();
        for name in [
            "code",
            "state",
            "request_id",
            "csrf",
            "_csrf",
            "csrfToken",
            "authenticity_token",
            "X-XSRF-TOKEN",
            "client_secret",
            "code_verifier",
            "access_token",
            "refresh_token",
            "registration_access_token",
            "token",
            "password",
            "new_password",
            "passwd",
            "nonce",
        ] {
            assert!(masker.is_secret_field(name), "{name} is not masked");
        }
        for name in [
            "client_id",
            "redirect_uri",
            "scope",
            "grant_type",
            "token_type",
            "token_type_hint",
            "token_endpoint_auth_method",
            "code_challenge",
            "code_challenge_method",
            "decision",
            "username",
            "resource",
            "error",
        ] {
            assert!(!masker.is_secret_field(name), "{name} is masked");
        }
    }

    #[test]
    fn masks_hidden_inputs_of_html_pages() {
        let page = r#"<form method="post" action="/oauth/authorize">
            <input type="hidden" name="request_id" value="req-0123456789">
            <input type="hidden" name="csrf" value="csrf-0123456789">
            <input type="hidden" name="state" value="st">
            <input type="hidden" name="client_id" value="app">
            <button name="decision" value="approve">Approve</button></form>"#;
        let masked = masker().mask_body(page, Some("text/html; charset=utf-8"));
        assert!(!masked.contains("req-0123456789"));
        assert!(!masked.contains("csrf-0123456789"));
        assert!(masked.contains(r#"name="state" value="***""#));
        assert!(masked.contains(r#"name="client_id" value="app""#));
        assert!(masked.contains(r#"value="approve""#));
    }

    #[test]
    fn masks_consent_form_submission() {
        let masked = masker().mask_form("request_id=r1&csrf=c1&state=s&decision=approve");
        assert_eq!(masked, "request_id=***&csrf=***&state=***&decision=approve");
    }

    #[test]
    fn masks_known_values_anywhere() {
        let masker = masker();
        assert_eq!(
            masker.mask_values("secret is s3cret-value."),
            "secret is ***."
        );
        assert_eq!(masker.mask_values("t=fltr_at_abc%2Fdef%2Bghi"), "t=***");
        assert_eq!(masker.mask_values("fltr_at_abc/def+ghi"), "***");
    }

    #[test]
    fn short_values_are_not_masked_everywhere() {
        let mut masker = Masker::new("password");
        masker.add("ab");
        assert_eq!(masker.mask_values("about"), "about");
    }

    #[test]
    fn masks_json_members_at_any_depth() {
        let body = r#"{"access_token":"a1","token_type":"Bearer","nested":[{"refresh_token":"r1"}],"scope":"x"}"#;
        let masked = masker().mask_body(body, Some("application/json"));
        let json: Value = serde_json::from_str(&masked).unwrap_or_default();
        assert_eq!(json["access_token"], MASK);
        assert_eq!(json["nested"][0]["refresh_token"], MASK);
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["scope"], "x");
    }

    #[test]
    fn masks_headers() {
        let masker = masker();
        assert_eq!(
            masker.mask_header("Authorization", "Basic YWJjOmRlZg=="),
            "Basic ***"
        );
        assert_eq!(
            masker.mask_header("cookie", "sid=1; csrf=2"),
            "sid=***; csrf=***"
        );
        assert_eq!(
            masker.mask_header("set-cookie", "sid=abc; Path=/; HttpOnly"),
            "sid=***; Path=/; HttpOnly"
        );
        assert_eq!(
            masker.mask_header("location", "http://127.0.0.1/cb?code=c&state=s"),
            "http://127.0.0.1/cb?code=***&state=***"
        );
        assert_eq!(
            masker.mask_header("x-debug", "used s3cret-value"),
            "used ***"
        );
    }

    #[test]
    fn exchange_masks_request_and_response() {
        let request = HttpRequest::post_form(
            "http://127.0.0.1:8080/oauth/token",
            &[("client_id", "app"), ("client_secret", "s3cret-value")],
        );
        let response = HttpResponse {
            request,
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"access_token":"zzz","echo":"s3cret-value"}"#.to_vec(),
            truncated: false,
        };
        let exchange = masker().exchange(&response);
        let body = exchange.request.body.unwrap_or_default();
        assert_eq!(body, "client_id=app&client_secret=***");
        let recorded = exchange
            .response
            .unwrap_or_else(|| panic!("response missing"));
        assert!(recorded.body.contains(r#""access_token":"***""#));
        assert!(!recorded.body.contains("s3cret-value"));
    }

    #[test]
    fn cuts_long_bodies_on_char_boundary() {
        let text = "é".repeat(3000);
        let (cut, was_cut) = cut_text(&text, REPORT_BODY_LIMIT);
        assert!(was_cut);
        assert!(cut.len() <= REPORT_BODY_LIMIT);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
