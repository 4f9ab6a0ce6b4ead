//! A small HTML tag scanner for login and consent pages.
//!
//! The kit needs only the forms on a page (action, method, inputs) and the URLs
//! that tags point at, so it scans start tags and their attributes instead of
//! building a DOM. It skips comments, doctypes and the contents of `script`,
//! `style`, `textarea` and `title`, and decodes the common character references
//! in attribute values. It returns no errors: malformed markup yields fewer tags,
//! as the truncation test below exercises.

use std::ops::Range;

/// A start or end tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tag {
    /// Tag name in lowercase.
    pub(crate) name: String,
    /// Attributes in source order, names in lowercase, values decoded.
    pub(crate) attrs: Vec<(String, String)>,
    /// Whether this is an end tag such as `</form>`.
    pub(crate) end: bool,
}

impl Tag {
    /// Returns the value of the first attribute with this lowercase name.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A form and the controls it submits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Form {
    /// The `action` attribute as written, `None` when absent.
    pub(crate) action: Option<String>,
    /// The `method` attribute in uppercase, `GET` when absent.
    pub(crate) method: String,
    /// `input` elements in source order.
    pub(crate) inputs: Vec<Input>,
    /// Names and values of `button` elements, which the kit never submits as is.
    pub(crate) buttons: Vec<(String, String)>,
}

/// An `input` element of a form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Input {
    /// The `name` attribute, empty when absent.
    pub(crate) name: String,
    /// The `type` attribute in lowercase, `text` when absent.
    pub(crate) kind: String,
    /// The `value` attribute, `None` when absent.
    pub(crate) value: Option<String>,
    /// Whether the `checked` attribute is present.
    pub(crate) checked: bool,
}

impl Form {
    /// Returns whether the form has a control with this name.
    pub(crate) fn has_control(&self, name: &str) -> bool {
        self.inputs.iter().any(|i| i.name == name) || self.buttons.iter().any(|(n, _)| n == name)
    }
}

/// Elements whose content is text, not markup, so tags inside them are ignored.
const RAW_TEXT_ELEMENTS: [&str; 4] = ["script", "style", "textarea", "title"];

/// A tag as scanned, with the source position of each attribute value.
struct ScannedTag {
    name: String,
    attrs: Vec<ScannedAttribute>,
    end: bool,
}

/// An attribute as scanned: the lowercase name, the decoded value, and the
/// byte range of the value as written, which is `None` when there is no value.
struct ScannedAttribute {
    name: String,
    value: String,
    raw: Option<Range<usize>>,
}

/// Scans a document and returns its tags in source order.
pub(crate) fn scan_tags(html: &str) -> Vec<Tag> {
    scan_tags_with_positions(html)
        .into_iter()
        .map(|tag| Tag {
            name: tag.name,
            attrs: tag
                .attrs
                .into_iter()
                .map(|attr| (attr.name, attr.value))
                .collect(),
            end: tag.end,
        })
        .collect()
}

/// Scans a document and returns its tags in source order, with the position
/// of each attribute value.
fn scan_tags_with_positions(html: &str) -> Vec<ScannedTag> {
    let bytes = html.as_bytes();
    let mut tags = Vec::new();
    let mut pos = 0;
    while let Some(offset) = html[pos..].find('<') {
        let start = pos + offset;
        let rest = &html[start..];
        if rest.starts_with("<!--") {
            pos = find_after(html, start + 4, "-->");
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            pos = find_after(html, start + 2, ">");
            continue;
        }
        let end_tag = rest.starts_with("</");
        let name_start = start + if end_tag { 2 } else { 1 };
        let name_end = scan_while(bytes, name_start, |b| {
            b.is_ascii_alphanumeric() || b == b'-'
        });
        if name_end == name_start || !bytes[name_start].is_ascii_alphabetic() {
            // A bare `<`, as in "a < b": text, not a tag.
            pos = start + 1;
            continue;
        }
        let name = html[name_start..name_end].to_ascii_lowercase();
        let (attrs, after) = scan_attributes(html, name_end);
        pos = after;
        if !end_tag && RAW_TEXT_ELEMENTS.contains(&name.as_str()) {
            pos = skip_raw_text(html, pos, &name);
        }
        tags.push(ScannedTag {
            name,
            attrs: if end_tag { Vec::new() } else { attrs },
            end: end_tag,
        });
    }
    tags
}

/// Returns the index just past the next `needle` at or after `from`, or the end.
fn find_after(html: &str, from: usize, needle: &str) -> usize {
    match html.get(from..).and_then(|s| s.find(needle)) {
        Some(i) => from + i + needle.len(),
        None => html.len(),
    }
}

/// Returns the first index at or after `from` whose byte fails `keep`.
fn scan_while(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    let mut i = from;
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

/// Skips the content of a raw text element up to and including its end tag.
fn skip_raw_text(html: &str, from: usize, name: &str) -> usize {
    let closing = format!("</{name}");
    let lower = html[from..].to_ascii_lowercase();
    match lower.find(&closing) {
        Some(i) => find_after(html, from + i, ">"),
        None => html.len(),
    }
}

/// Scans attributes from just after the tag name; returns them and the index
/// just past the closing `>`.
fn scan_attributes(html: &str, from: usize) -> (Vec<ScannedAttribute>, usize) {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = from;
    loop {
        i = scan_while(bytes, i, |b| b.is_ascii_whitespace() || b == b'/');
        if i >= bytes.len() {
            return (attrs, bytes.len());
        }
        if bytes[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_end = scan_while(bytes, i, |b| {
            !b.is_ascii_whitespace() && b != b'=' && b != b'>' && b != b'/'
        });
        let name = html[i..name_end].to_ascii_lowercase();
        i = scan_while(bytes, name_end, |b| b.is_ascii_whitespace());
        let mut value = String::new();
        let mut raw = None;
        if i < bytes.len() && bytes[i] == b'=' {
            i = scan_while(bytes, i + 1, |b| b.is_ascii_whitespace());
            let (range, next) = scan_value(html, i);
            value = decode_entities(&html[range.clone()]);
            raw = Some(range);
            i = next;
        }
        if !name.is_empty() {
            attrs.push(ScannedAttribute { name, value, raw });
        }
    }
}

/// Scans one attribute value, quoted or not; returns the byte range of the
/// value without its quotes, and the next index.
fn scan_value(html: &str, from: usize) -> (Range<usize>, usize) {
    let bytes = html.as_bytes();
    match bytes.get(from) {
        Some(&quote) if quote == b'"' || quote == b'\'' => {
            let end = scan_while(bytes, from + 1, |b| b != quote);
            (from + 1..end, (end + 1).min(bytes.len()))
        }
        Some(_) => {
            let end = scan_while(bytes, from, |b| !b.is_ascii_whitespace() && b != b'>');
            (from..end, end)
        }
        None => (from..from, from),
    }
}

/// Decodes the character references that attribute values commonly use:
/// `&amp; &lt; &gt; &quot; &apos;` and numeric ones. Others stay as written.
pub(crate) fn decode_entities(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        // Only short references are decoded, so a stray `&` does not swallow text.
        let Some(semi) = rest.bytes().take(12).position(|b| b == b';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        match decode_entity(entity) {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes one reference without its `&` and `;`.
fn decode_entity(entity: &str) -> Option<char> {
    match entity {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = entity.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Returns the forms of a document with their inputs and buttons.
pub(crate) fn find_forms(html: &str) -> Vec<Form> {
    let mut forms = Vec::new();
    let mut current: Option<Form> = None;
    for tag in scan_tags(html) {
        match (tag.name.as_str(), tag.end) {
            ("form", false) => {
                if let Some(done) = current.take() {
                    forms.push(done);
                }
                current = Some(Form {
                    action: tag.attr("action").map(str::to_owned),
                    method: tag.attr("method").unwrap_or("get").to_ascii_uppercase(),
                    ..Form::default()
                });
            }
            ("form", true) => {
                if let Some(done) = current.take() {
                    forms.push(done);
                }
            }
            ("input", false) => {
                if let Some(form) = current.as_mut() {
                    form.inputs.push(Input {
                        name: tag.attr("name").unwrap_or_default().to_owned(),
                        kind: tag.attr("type").unwrap_or("text").to_ascii_lowercase(),
                        value: tag.attr("value").map(str::to_owned),
                        checked: tag.attr("checked").is_some(),
                    });
                }
            }
            ("button", false) => {
                if let (Some(form), Some(name)) = (current.as_mut(), tag.attr("name")) {
                    let value = tag.attr("value").unwrap_or_default().to_owned();
                    form.buttons.push((name.to_owned(), value));
                }
            }
            _ => {}
        }
    }
    if let Some(done) = current {
        forms.push(done);
    }
    forms
}

/// Returns the URL-bearing attribute values of a document: `href`, `src`,
/// `action`, `formaction`, and the URL of a `<meta http-equiv="refresh">`.
pub(crate) fn linked_urls(html: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for tag in scan_tags(html).into_iter().filter(|t| !t.end) {
        let refresh = tag.name == "meta"
            && tag
                .attr("http-equiv")
                .is_some_and(|v| v.eq_ignore_ascii_case("refresh"));
        for (name, value) in &tag.attrs {
            let is_url = matches!(name.as_str(), "href" | "src" | "action" | "formaction");
            if is_url || (refresh && name == "content") {
                urls.push(value.clone());
            }
        }
    }
    urls
}

/// Returns the visible text: the document without tags, comments and
/// the content of `script`, `style`, `textarea` and `title`, with character
/// references decoded and each tag replaced by a space. Attribute values,
/// such as a hidden input's, are not part of it.
pub(crate) fn visible_text(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut text = String::with_capacity(html.len() / 2);
    let mut pos = 0;
    while let Some(offset) = html[pos..].find('<') {
        let start = pos + offset;
        text.push_str(&decode_entities(&html[pos..start]));
        let rest = &html[start..];
        if rest.starts_with("<!--") {
            pos = find_after(html, start + 4, "-->");
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            pos = find_after(html, start + 2, ">");
            continue;
        }
        let end_tag = rest.starts_with("</");
        let name_start = start + if end_tag { 2 } else { 1 };
        let name_end = scan_while(bytes, name_start, |b| {
            b.is_ascii_alphanumeric() || b == b'-'
        });
        if name_end == name_start || !bytes[name_start].is_ascii_alphabetic() {
            text.push('<');
            pos = start + 1;
            continue;
        }
        let name = html[name_start..name_end].to_ascii_lowercase();
        let (_, after) = scan_attributes(html, name_end);
        pos = after;
        if !end_tag && RAW_TEXT_ELEMENTS.contains(&name.as_str()) {
            pos = skip_raw_text(html, pos, &name);
        }
        text.push(' ');
    }
    text.push_str(&decode_entities(&html[pos..]));
    text
}

/// Replaces the `value` of every `input` element whose `name` satisfies
/// `is_secret` with `mask`, and leaves the rest of the document as written.
pub(crate) fn mask_input_values(
    html: &str,
    is_secret: impl Fn(&str) -> bool,
    mask: &str,
) -> String {
    let mut ranges: Vec<Range<usize>> = Vec::new();
    for tag in scan_tags_with_positions(html) {
        if tag.end || tag.name != "input" {
            continue;
        }
        let secret = tag
            .attrs
            .iter()
            .find(|attr| attr.name == "name")
            .is_some_and(|attr| is_secret(&attr.value));
        if !secret {
            continue;
        }
        let values = tag.attrs.iter().filter(|attr| attr.name == "value");
        ranges.extend(values.filter_map(|attr| attr.raw.clone()));
    }
    ranges.sort_by_key(|range| range.start);
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    for range in ranges {
        if range.start < copied {
            continue;
        }
        out.push_str(&html[copied..range.start]);
        out.push_str(mask);
        copied = range.end;
    }
    out.push_str(&html[copied..]);
    out
}

/// Returns whether a start tag in the document has the attribute `id="id"`.
pub(crate) fn has_element_with_id(html: &str, id: &str) -> bool {
    scan_tags(html)
        .iter()
        .any(|tag| !tag.end && tag.attr("id") == Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN_PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Sign in <form></title>
<style>form { color: red } </style>
<script>if (a < b && "<form>") {}</script></head>
<body>
<!-- <form action="/commented-out"> -->
<p>Reporting dashboard requests: datasets:read &amp; mcp:query</p>
<form method="post" action="/oauth/authorize?x=1&amp;y=2">
  <input type="hidden" name="request_id" value="r1d&quot;x">
  <input type=hidden name=csrf value=abc123>
  <label>User <input name="username" autocomplete="username"></label>
  <input type="password" name="password">
  <input type="checkbox" name="remember" checked>
  <input type="checkbox" name="newsletter" value="yes">
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>
<form action="/logout"><input type="submit" value="Log out"></form>
</body></html>"#;

    #[test]
    fn visible_text_leaves_out_markup_and_attributes() {
        let text = visible_text(LOGIN_PAGE);
        assert!(text.contains("datasets:read & mcp:query"));
        assert!(!text.contains("request_id"));
        assert!(!text.contains("r1d"));
        assert!(!text.contains("color: red"));
        assert!(!text.contains("commented-out"));
        assert!(!text.contains("Sign in"));
        assert!(visible_text("a < b <p>x</p>").contains("a < b  x"));
    }

    #[test]
    fn finds_element_by_id() {
        let page = r#"<main><p class="warning" id="unverified">Unverified</p></main>"#;
        assert!(has_element_with_id(page, "unverified"));
        assert!(!has_element_with_id(page, "Unverified"));
        assert!(!has_element_with_id(LOGIN_PAGE, "unverified"));
    }

    #[test]
    fn finds_form_action_and_method() {
        let forms = find_forms(LOGIN_PAGE);
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[0].method, "POST");
        assert_eq!(forms[0].action.as_deref(), Some("/oauth/authorize?x=1&y=2"));
        assert_eq!(forms[1].method, "GET");
        assert_eq!(forms[1].action.as_deref(), Some("/logout"));
    }

    #[test]
    fn reads_quoted_and_unquoted_inputs() {
        let form = &find_forms(LOGIN_PAGE)[0];
        let names: Vec<&str> = form.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "request_id",
                "csrf",
                "username",
                "password",
                "remember",
                "newsletter"
            ]
        );
        assert_eq!(form.inputs[0].value.as_deref(), Some("r1d\"x"));
        assert_eq!(form.inputs[1].kind, "hidden");
        assert_eq!(form.inputs[1].value.as_deref(), Some("abc123"));
        assert_eq!(form.inputs[2].kind, "text");
        assert_eq!(form.inputs[2].value, None);
        assert!(form.inputs[4].checked);
        assert!(!form.inputs[5].checked);
    }

    #[test]
    fn records_named_buttons() {
        let form = &find_forms(LOGIN_PAGE)[0];
        assert_eq!(
            form.buttons,
            [
                ("decision".to_owned(), "approve".to_owned()),
                ("decision".to_owned(), "deny".to_owned())
            ]
        );
        assert!(form.has_control("decision"));
        assert!(form.has_control("password"));
        assert!(!form.has_control("email"));
    }

    #[test]
    fn ignores_comments_scripts_and_titles() {
        let actions: Vec<Option<String>> = find_forms(LOGIN_PAGE)
            .into_iter()
            .map(|f| f.action)
            .collect();
        assert!(!actions.contains(&Some("/commented-out".to_owned())));
        assert_eq!(actions.len(), 2);
    }

    #[test]
    fn survives_truncated_markup() {
        for cut in 0..LOGIN_PAGE.len() {
            if LOGIN_PAGE.is_char_boundary(cut) {
                let _ = find_forms(&LOGIN_PAGE[..cut]);
            }
        }
        assert!(find_forms("<form").len() <= 1);
        assert!(find_forms("<input name='x").is_empty());
        assert!(scan_tags("< = / > <1> <<<").is_empty());
    }

    #[test]
    fn unclosed_form_still_counts() {
        let forms = find_forms(r#"<form method=POST><input name=a value=1>"#);
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].inputs[0].value.as_deref(), Some("1"));
    }

    #[test]
    fn masks_values_of_named_inputs() {
        let masked = mask_input_values(
            LOGIN_PAGE,
            |name| matches!(name, "request_id" | "csrf"),
            "***",
        );
        assert!(masked.contains(r#"<input type="hidden" name="request_id" value="***">"#));
        assert!(masked.contains("<input type=hidden name=csrf value=***>"));
        assert!(!masked.contains("r1d"));
        assert!(!masked.contains("abc123"));
        // Other inputs, and text that only looks like an input, stay as written.
        assert!(masked.contains(r#"<input type="checkbox" name="newsletter" value="yes">"#));
        assert_eq!(
            masked.len(),
            LOGIN_PAGE.len() - "r1d&quot;x".len() - "abc123".len() + 6
        );
        let in_script = r#"<script>"<input name=csrf value=x>"</script>"#;
        assert_eq!(mask_input_values(in_script, |_| true, "***"), in_script);
    }

    #[test]
    fn masks_value_before_name_and_empty_values() {
        let page = r#"<input value='v1' name="CSRF"><input name=csrf value=><input name=csrf>"#;
        let masked = mask_input_values(page, |name| name.eq_ignore_ascii_case("csrf"), "***");
        assert_eq!(
            masked,
            r#"<input value='***' name="CSRF"><input name=csrf value=***><input name=csrf>"#
        );
    }

    #[test]
    fn decodes_numeric_and_named_references() {
        assert_eq!(decode_entities("a&amp;b&#x2F;c&#47;d&lt;&gt;"), "a&b/c/d<>");
        assert_eq!(decode_entities("&unknown; & &#xZZ;"), "&unknown; & &#xZZ;");
        assert_eq!(decode_entities("tail&"), "tail&");
    }

    #[test]
    fn lists_linked_urls() {
        let page = r#"<a HREF="https://evil.example/cb?x=1&amp;y">go</a>
            <meta http-equiv="Refresh" content="0; url=https://evil.example/cb">
            <form action=/ok></form><img src=/logo.png><p title="https://t.example">"#;
        let urls = linked_urls(page);
        assert_eq!(
            urls,
            [
                "https://evil.example/cb?x=1&y",
                "0; url=https://evil.example/cb",
                "/ok",
                "/logo.png"
            ]
        );
    }
}
