//! A user's browser: a cookie jar over [`Http`], and a driver for the login and
//! consent page.
//!
//! The page's form is part of the server's API: it posts to its `action` with
//! `username` and `password` (before sign-in), the hidden `request_id` and
//! `csrf`, and a `decision` of `approve` or `deny`.

use std::collections::BTreeMap;

use url::Url;

use crate::fixture::User;
use crate::http::{Form, Http, Reply};

/// The button the user presses on the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The `approve` button.
    Approve,
    /// The `deny` button.
    Deny,
}

impl Decision {
    /// Returns the button's `value`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
        }
    }
}

/// The login and consent form as read from the page's HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsentForm {
    /// The form's `action`, as written in the page.
    pub action: String,
    /// The form's `method`, lower case.
    pub method: String,
    /// The hidden `request_id`.
    pub request_id: String,
    /// The hidden `csrf`.
    pub csrf: String,
    /// Whether the form has the `username` and `password` inputs of a sign-in.
    pub has_sign_in: bool,
    /// The values of the submit buttons named `decision`.
    pub decisions: Vec<String>,
}

impl ConsentForm {
    /// Reads the first form of a page.
    ///
    /// # Errors
    ///
    /// A message naming what the page lacks.
    pub fn parse(html: &str) -> Result<Self, String> {
        let tags = start_tags(html);
        let form_index = tags
            .iter()
            .position(|tag| tag.name == "form")
            .ok_or("the page has no form")?;
        let form = &tags[form_index];
        let action = form.attribute("action").ok_or("the form has no action")?;
        let method = form
            .attribute("method")
            .unwrap_or("get")
            .to_ascii_lowercase();
        let mut hidden = BTreeMap::new();
        let mut inputs = Vec::new();
        let mut decisions = Vec::new();
        for tag in &tags[form_index + 1..] {
            let name = tag.attribute("name").unwrap_or_default();
            match tag.name.as_str() {
                "input" if tag.attribute("type") == Some("hidden") => {
                    hidden.insert(name, tag.attribute("value").unwrap_or_default());
                }
                "input" => inputs.push(name),
                "button" if name == "decision" => {
                    decisions.push(tag.attribute("value").unwrap_or_default().to_owned());
                }
                _ => {}
            }
        }
        let field = |name: &str| {
            hidden
                .get(name)
                .map(|value| (*value).to_owned())
                .ok_or(format!("the form has no hidden input {name}"))
        };
        Ok(Self {
            action: action.to_owned(),
            method,
            request_id: field("request_id")?,
            csrf: field("csrf")?,
            has_sign_in: inputs.contains(&"username") && inputs.contains(&"password"),
            decisions,
        })
    }
}

/// A browser: requests carry the cookies that earlier responses set.
///
/// Cookies are kept by name only, without domain, path or expiry, which is
/// enough for one server on one origin.
#[derive(Clone, Debug)]
pub struct Browser {
    http: Http,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    /// Creates a browser with no cookies.
    pub fn new(http: &Http) -> Self {
        Self {
            http: http.clone(),
            cookies: BTreeMap::new(),
        }
    }

    /// Returns the cookies, by name.
    pub fn cookies(&self) -> &BTreeMap<String, String> {
        &self.cookies
    }

    /// Replaces all cookies, as when a session cookie is stolen or swapped.
    pub fn set_cookies(&mut self, cookies: BTreeMap<String, String>) {
        self.cookies = cookies;
    }

    /// Sends a GET request with the cookies and keeps the cookies it sets.
    pub async fn get(&mut self, path_and_query: &str) -> Reply {
        let cookie = self.cookie_header();
        let headers: Vec<(&str, &str)> = cookie
            .iter()
            .map(|value| ("cookie", value.as_str()))
            .collect();
        let reply = self.http.get(path_and_query, &headers).await;
        self.keep_cookies(&reply);
        reply
    }

    /// POSTs a form with the cookies and keeps the cookies the response sets.
    pub async fn post_form(&mut self, path: &str, form: &Form) -> Reply {
        let cookie = self.cookie_header();
        let headers: Vec<(&str, &str)> = cookie
            .iter()
            .map(|value| ("cookie", value.as_str()))
            .collect();
        let reply = self.http.post_form(path, &form.encode(), &headers).await;
        self.keep_cookies(&reply);
        reply
    }

    /// Opens the authorization endpoint with `query` and reads the consent form.
    ///
    /// # Panics
    ///
    /// Panics unless the server responds with 200 and a consent form.
    pub async fn open_consent(&mut self, query: &Form) -> (Reply, ConsentForm) {
        let reply = self
            .get(&format!("/oauth/authorize?{}", query.encode()))
            .await;
        assert_eq!(
            reply.status,
            200,
            "GET /oauth/authorize shows the consent page: {}",
            reply.describe()
        );
        let form = ConsentForm::parse(&reply.text())
            .unwrap_or_else(|problem| panic!("the consent page has no usable form: {problem}"));
        (reply, form)
    }

    /// Submits the consent form, signing in as `user` when given.
    ///
    /// # Panics
    ///
    /// Panics when the form is not a POST or its action leaves the server's origin.
    pub async fn submit_consent(
        &mut self,
        form: &ConsentForm,
        user: Option<User>,
        decision: Decision,
    ) -> Reply {
        assert_eq!(form.method, "post", "the consent form is a POST");
        let mut fields = Form::new()
            .with("request_id", &form.request_id)
            .with("csrf", &form.csrf);
        if let Some(user) = user {
            fields = fields
                .with("username", user.username)
                .with("password", user.password);
        }
        fields = fields.with("decision", decision.as_str());
        let path = self.same_origin_path(&form.action);
        self.post_form(&path, &fields).await
    }

    /// Resolves a form action against the server and returns its path and query.
    fn same_origin_path(&self, action: &str) -> String {
        let base = Url::parse(self.http.base_url()).expect("the base URL is valid");
        let target = base
            .join(action)
            .unwrap_or_else(|error| panic!("form action {action:?} is invalid: {error}"));
        assert_eq!(
            target.origin(),
            base.origin(),
            "the form posts to the server's own origin"
        );
        match target.query() {
            Some(query) => format!("{}?{query}", target.path()),
            None => target.path().to_owned(),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        Some(pairs.join("; "))
    }

    fn keep_cookies(&mut self, reply: &Reply) {
        for (name, value) in reply.set_cookies() {
            if value.is_empty() {
                self.cookies.remove(&name);
            } else {
                self.cookies.insert(name, value);
            }
        }
    }
}

/// One HTML start tag with its attributes, entity references decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Tag {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Lists the start tags of an HTML document, skipping comments, end tags,
/// declarations and the contents of `script` and `style`.
fn start_tags(html: &str) -> Vec<Tag> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let (tag, after) = parse_tag(rest);
        rest = after;
        if matches!(tag.name.as_str(), "script" | "style") {
            let close = format!("</{}", tag.name);
            rest = rest.find(&close).map_or("", |end| &rest[end..]);
        }
        tags.push(tag);
    }
    tags
}

/// Parses a start tag from just after its `<`; returns the tag and the text after its `>`.
fn parse_tag(input: &str) -> (Tag, &str) {
    let name_end = input
        .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
        .unwrap_or(input.len());
    let name = input[..name_end].to_ascii_lowercase();
    let mut rest = &input[name_end..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        let key_end = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            rest = after.trim_start();
            let (raw, after) = match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => {
                    let body = &rest[1..];
                    let end = body.find(quote).unwrap_or(body.len());
                    (&body[..end], body.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = rest
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .unwrap_or(rest.len());
                    (&rest[..end], &rest[end..])
                }
            };
            value = decode_entities(raw);
            rest = after;
        }
        if !key.is_empty() {
            attributes.push((key, value));
        }
    }
    (Tag { name, attributes }, rest)
}

/// Decodes the character references an attribute value may hold: the five
/// named ones escaping markup and numeric ones. Others are kept as written.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        decoded.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semicolon) = rest.find(';').filter(|end| *end <= 10) else {
            decoded.push('&');
            rest = &rest[1..];
            continue;
        };
        let reference = &rest[1..semicolon];
        let character = match reference {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => reference
                .strip_prefix("#x")
                .or_else(|| reference.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| reference.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match character {
            Some(character) => {
                decoded.push(character);
                rest = &rest[semicolon + 1..];
            }
            None => {
                decoded.push('&');
                rest = &rest[1..];
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<!doctype html><html><head><style>a<b{}</style></head><body>\
        <!-- <form action=\"/wrong\"> -->\
        <form method=\"post\" action=\"/oauth/authorize\">\
        <label>Username <input name=\"username\" required></label>\
        <input name=password type=password>\
        <input type=\"hidden\" name=\"request_id\" value=\"r&amp;1\">\
        <input type='hidden' name='csrf' value='c&#39;2&#x41;'/>\
        <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
        <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button>\
        </form></body></html>";

    #[test]
    fn consent_form_is_read_with_entities_decoded() {
        let form = ConsentForm::parse(PAGE).unwrap();
        assert_eq!(form.action, "/oauth/authorize");
        assert_eq!(form.method, "post");
        assert_eq!(form.request_id, "r&1");
        assert_eq!(form.csrf, "c'2A");
        assert!(form.has_sign_in);
        assert_eq!(form.decisions, ["approve", "deny"]);
    }

    #[test]
    fn page_without_hidden_inputs_is_rejected() {
        let problem = ConsentForm::parse("<form action=\"/x\"><input name=\"a\"></form>");
        assert_eq!(
            problem,
            Err("the form has no hidden input request_id".to_owned())
        );
    }

    #[test]
    fn unknown_entities_are_kept() {
        assert_eq!(decode_entities("a&b &nbsp; &#65;"), "a&b &nbsp; A");
    }
}
