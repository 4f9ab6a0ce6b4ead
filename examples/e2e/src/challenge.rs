//! Parsing of `WWW-Authenticate` challenges (RFC 7235 §4.1, RFC 6750 §3).

use crate::http::Reply;

/// One challenge: its scheme and its auth-params in the order sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme as sent, such as `Bearer`.
    pub scheme: String,
    /// The `name=value` auth-params, names in lower case and quoted values unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Parses one challenge whose auth-params are `name=token` or `name="quoted-string"`.
    ///
    /// # Errors
    ///
    /// A message naming the first byte that breaks the syntax, or a parameter
    /// name that appears twice (RFC 6750 §3 allows each at most once).
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let (scheme, mut rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.is_empty() || !scheme.bytes().all(is_token_byte) {
            return Err(format!("the scheme {scheme:?} is not a token"));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let name_end = rest
                .find(|c: char| !c.is_ascii() || !is_token_byte(c as u8))
                .unwrap_or(rest.len());
            let name = rest[..name_end].to_ascii_lowercase();
            rest = rest[name_end..].trim_start();
            if name.is_empty() {
                return Err(format!("expected a parameter name at {rest:?}"));
            }
            rest = rest
                .strip_prefix('=')
                .ok_or_else(|| format!("parameter {name} has no '='"))?
                .trim_start();
            let (parsed, after) = match rest.strip_prefix('"') {
                Some(quoted) => parse_quoted(quoted)
                    .ok_or_else(|| format!("parameter {name} has an unterminated quoted value"))?,
                None => {
                    let end = rest.find([',', ' ', '\t']).unwrap_or(rest.len());
                    (rest[..end].to_owned(), &rest[end..])
                }
            };
            if params.iter().any(|(known, _)| *known == name) {
                return Err(format!("parameter {name} appears twice"));
            }
            params.push((name, parsed));
            rest = after;
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            params,
        })
    }

    /// Returns the value of auth-param `name`, given in lower case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Checks that `reply` has `status` and one `Bearer` challenge, and parses it.
///
/// # Panics
///
/// Panics, naming `what`, when the status differs, the header is missing or
/// repeated, the scheme is not `Bearer`, or the challenge does not parse.
#[track_caller]
pub fn bearer_challenge(reply: &Reply, status: u16, what: &str) -> Challenge {
    assert_eq!(
        reply.status,
        status,
        "{what}: status {status}: {}",
        reply.describe()
    );
    let value = reply.header("www-authenticate").unwrap_or_else(|| {
        panic!(
            "{what}: the reply has a WWW-Authenticate challenge: {:?}",
            reply.headers
        )
    });
    let challenge = Challenge::parse(value).unwrap_or_else(|problem| {
        panic!("{what}: the challenge {value:?} is malformed: {problem}")
    });
    assert!(
        challenge.scheme.eq_ignore_ascii_case("bearer"),
        "{what}: the challenge uses the Bearer scheme: {value:?}"
    );
    assert!(
        !challenge.params.is_empty(),
        "{what}: a Bearer challenge carries at least one auth-param (RFC 6750 §3): {value:?}"
    );
    challenge
}

/// Reads a quoted-string after its opening quote; returns the unescaped value
/// and the text after the closing quote.
fn parse_quoted(input: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, &input[index + 1..])),
            '\\' => value.push(chars.next()?.1),
            _ => value.push(c),
        }
    }
    None
}

/// Returns `true` for the bytes of an RFC 9110 §5.6.2 token.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_token_values_are_read() {
        let challenge = Challenge::parse(
            "Bearer error=\"invalid_token\", error_description=\"a \\\"b\\\" c\",scope=x",
        )
        .unwrap();
        assert_eq!(challenge.scheme, "Bearer");
        assert_eq!(challenge.param("error"), Some("invalid_token"));
        assert_eq!(challenge.param("error_description"), Some("a \"b\" c"));
        assert_eq!(challenge.param("scope"), Some("x"));
    }

    #[test]
    fn repeated_parameter_is_rejected() {
        assert_eq!(
            Challenge::parse("Bearer scope=\"a\", Scope=\"b\""),
            Err("parameter scope appears twice".to_owned())
        );
    }

    #[test]
    fn unterminated_quote_is_rejected() {
        assert!(Challenge::parse("Bearer realm=\"x").is_err());
    }
}
