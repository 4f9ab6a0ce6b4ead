//! Parsing of `WWW-Authenticate` challenges (RFC 9110 §11.2). The Bearer
//! rules of RFC 6750 §3 are checked in the `bearer` checks.

use crate::http::HttpResponse;

/// One `name=value` parameter of a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuthParam {
    pub(crate) name: String,
    /// The value with quoting and escapes removed.
    pub(crate) value: String,
    /// Whether the value was sent as a quoted-string rather than a token.
    pub(crate) quoted: bool,
}

/// A parsed challenge: its scheme and parameters in the order sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<AuthParam>,
}

impl Challenge {
    /// Returns the first parameter whose name matches case-insensitively.
    pub(crate) fn find(&self, name: &str) -> Option<&AuthParam> {
        self.params
            .iter()
            .find(|param| param.name.eq_ignore_ascii_case(name))
    }

    /// Returns the value of the first parameter with this name.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.find(name).map(|param| param.value.as_str())
    }
}

/// Parses one challenge: a scheme, then comma-separated `name=value` pairs
/// whose values are tokens or quoted strings (RFC 9110 §11.2).
pub(crate) fn parse_challenge(header: &str) -> Result<Challenge, String> {
    let header = header.trim();
    let (scheme, mut rest) = match header.find(' ') {
        Some(index) => (&header[..index], header[index..].trim_start()),
        None => (header, ""),
    };
    if scheme.is_empty() {
        return Err(String::from("the challenge has no scheme"));
    }
    let mut params = Vec::new();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else {
            return Err(format!("expected name=value, found {rest:?}"));
        };
        let name = rest[..eq].trim().to_owned();
        if name.is_empty() || name.contains([' ', ',', '"']) {
            return Err(format!("invalid parameter name {name:?}"));
        }
        rest = rest[eq + 1..].trim_start();
        let value;
        let quoted;
        if let Some(after_quote) = rest.strip_prefix('"') {
            let (unquoted, remainder) = read_quoted(after_quote)
                .ok_or_else(|| format!("unterminated quoted value for {name}"))?;
            value = unquoted;
            quoted = true;
            rest = remainder.trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            quoted = false;
            rest = &rest[end..];
        }
        params.push(AuthParam {
            name,
            value,
            quoted,
        });
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start();
        } else if !rest.is_empty() {
            return Err(format!("expected a comma before {rest:?}"));
        }
    }
    Ok(Challenge {
        scheme: scheme.to_owned(),
        params,
    })
}

/// Reads a quoted-string whose opening quote is already consumed. Returns the
/// unescaped value and the text after the closing quote, or `None` when the
/// closing quote is missing.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return Some((out, &text[i + 1..])),
            _ => out.push(c),
        }
    }
    None
}

/// Returns the first `WWW-Authenticate` value of a response that starts with
/// the Bearer scheme, parsed, or `None` when there is no such header.
pub(crate) fn bearer_challenge(response: &HttpResponse) -> Option<Result<Challenge, String>> {
    let headers = response.headers_named("www-authenticate");
    let header = headers
        .iter()
        .find(|h| h.trim_start().to_ascii_lowercase().starts_with("bearer"))?;
    Some(parse_challenge(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_token_values() {
        let challenge = parse_challenge(
            r#"Bearer realm="api", error="invalid_token", error_description="bad \"x\"", max=3"#,
        )
        .unwrap();
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("realm"), Some("api"));
        assert_eq!(challenge.param("ERROR"), Some("invalid_token"));
        assert_eq!(challenge.param("error_description"), Some("bad \"x\""));
        assert_eq!(challenge.param("max"), Some("3"));
    }

    #[test]
    fn records_quoting() {
        let challenge =
            parse_challenge(r#"Bearer resource_metadata=http://h/x, scope="a b""#).unwrap();
        assert_eq!(
            challenge.find("resource_metadata").map(|p| p.quoted),
            Some(false)
        );
        assert_eq!(challenge.find("scope").map(|p| p.quoted), Some(true));
    }

    #[test]
    fn rejects_malformed_challenges() {
        assert!(parse_challenge("").is_err());
        assert!(parse_challenge(r#"Bearer realm="open"#).is_err());
        assert!(parse_challenge("Bearer realm").is_err());
        assert!(parse_challenge(r#"Bearer a="1" b="2""#).is_err());
    }
}
