//! Bearer token use at the protected resource (RFC 6750, OAuth 2.1 §5).

use super::{Check, is_error_text, is_error_uri};
use crate::context::{Ctx, Verdict};
use crate::http::{HttpRequest, HttpResponse};
use crate::pkce::random_string;
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "bearer.valid-token",
        name: "RFC 6750 §2.1: a valid access token in the Authorization header is accepted",
        run: valid_token,
    },
    Check {
        id: "bearer.missing-token",
        name: "RFC 6750 §3: a request without a token gets 401 and a Bearer challenge without an error code",
        run: missing_token,
    },
    Check {
        id: "bearer.invalid-token",
        name: "RFC 6750 §3.1: an unknown token gets 401 with error=\"invalid_token\"",
        run: invalid_token,
    },
    Check {
        id: "bearer.query-token-ignored",
        name: "OAuth 2.1 §5.1: an access token in the URI query is not accepted",
        run: query_token_ignored,
    },
    Check {
        id: "bearer.scheme-case-insensitive",
        name: "OAuth 2.1 §5.1.1: the Bearer scheme name is case-insensitive",
        run: scheme_case_insensitive,
    },
    Check {
        id: "bearer.insufficient-scope",
        name: "RFC 6750 §3.1: a token without the required scope gets 403 with error=\"insufficient_scope\"",
        run: insufficient_scope,
    },
    Check {
        id: "bearer.challenge-syntax",
        name: "RFC 6750 §3: challenges use the Bearer scheme with well-formed, unrepeated parameters",
        run: challenge_syntax,
    },
];

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one challenge: a scheme, then comma-separated `name=value` pairs
/// whose values are tokens or quoted strings (RFC 9110 §11.6.1).
fn parse_challenge(header: &str) -> Result<Challenge, String> {
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
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            out.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => out.push(c),
                }
            }
            let Some(end) = end else {
                return Err(format!("unterminated quoted value for {name}"));
            };
            value = out;
            rest = quoted[end + 1..].trim_start();
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        params.push((name, value));
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

/// Checks a challenge against RFC 6750 §3: scheme Bearer, at least one
/// parameter, no repeated parameter, and values in the allowed characters.
fn validate_challenge(header: &str) -> Result<Challenge, String> {
    let challenge = parse_challenge(header)?;
    if !challenge.scheme.eq_ignore_ascii_case("bearer") {
        return Err(format!("the scheme is {:?}, not Bearer", challenge.scheme));
    }
    if challenge.params.is_empty() {
        return Err(String::from("the challenge has no parameters"));
    }
    for (index, (name, value)) in challenge.params.iter().enumerate() {
        let lower = name.to_ascii_lowercase();
        let repeated = challenge.params[..index]
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name));
        if repeated
            && matches!(
                lower.as_str(),
                "realm" | "scope" | "error" | "error_description" | "error_uri"
            )
        {
            return Err(format!("{name} appears more than once"));
        }
        let ok = match lower.as_str() {
            "error" | "error_description" => is_error_text(value),
            "error_uri" => is_error_uri(value),
            "scope" => value.split(' ').all(|s| !s.is_empty() && is_error_uri(s)),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "{name} has a character outside the allowed set: {value:?}"
            ));
        }
    }
    Ok(challenge)
}

/// Returns the challenge of a 401 or 403, or a failure reason.
fn challenge_of(response: &HttpResponse) -> Result<Challenge, String> {
    let headers = response.headers_named("www-authenticate");
    let Some(header) = headers
        .iter()
        .find(|h| h.trim_start().to_ascii_lowercase().starts_with("bearer"))
    else {
        return Err(format!(
            "no WWW-Authenticate: Bearer challenge in the {} response",
            response.status
        ));
    };
    validate_challenge(header)
}

/// Returns an access token carrying the resource scope.
fn resource_token(ctx: &mut Ctx<'_>) -> Result<String, Outcome> {
    let client = ctx.main.clone();
    let tokens = ctx.standard_tokens(&client)?;
    Ok(tokens.access)
}

fn valid_token(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let token = resource_token(ctx)?;
    let response = ctx.call_resource(&url, "Bearer", &token)?;
    let result = if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(format!("expected 200, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

fn missing_token(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let response = ctx.send(HttpRequest::get(url))?;
    if response.status != 401 {
        return Ok(ctx.fail(
            format!("expected 401, got {}", response.summary()),
            &response,
        ));
    }
    let result = challenge_of(&response).and_then(|challenge| match challenge.param("error") {
        None => Ok(()),
        Some(error) => Err(format!(
            "the challenge has error={error:?} for a request without credentials"
        )),
    });
    Ok(ctx.judge(result, &response))
}

fn invalid_token(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let response = ctx.call_resource(&url, "Bearer", &random_string(32))?;
    if response.status != 401 {
        return Ok(ctx.fail(
            format!("expected 401, got {}", response.summary()),
            &response,
        ));
    }
    let result = challenge_of(&response).and_then(|challenge| match challenge.param("error") {
        Some("invalid_token") => Ok(()),
        other => Err(format!(
            "expected error=\"invalid_token\" in the challenge, got {other:?}"
        )),
    });
    Ok(ctx.judge(result, &response))
}

fn query_token_ignored(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let token = resource_token(ctx)?;
    let separator = if url.contains('?') { '&' } else { '?' };
    let query = crate::http::encode_form(&[("access_token", &token)]);
    let response = ctx.send(HttpRequest::get(format!("{url}{separator}{query}")))?;
    let result = if response.status == 401 {
        Ok(())
    } else {
        Err(format!("expected 401, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

fn scheme_case_insensitive(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let token = resource_token(ctx)?;
    let response = ctx.call_resource(&url, "bEaReR", &token)?;
    let result = if (200..300).contains(&response.status) {
        Ok(())
    } else {
        Err(format!("expected 200, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

/// Maximum number of scopes tried when looking for a token without the resource scope.
const MAX_SCOPE_ATTEMPTS: usize = 3;

/// Returns an access token granted for a scope other than the resource scope,
/// trying up to [`MAX_SCOPE_ATTEMPTS`] scopes from the metadata, since the
/// client may not be allowed every scope the server lists.
fn token_without_resource_scope(ctx: &mut Ctx<'_>) -> Result<String, Outcome> {
    let required = ctx.config.resource_scope.clone();
    let candidates: Vec<String> = ctx
        .metadata
        .list("scopes_supported")
        .unwrap_or_default()
        .into_iter()
        .filter(|s| *s != required && !matches!(*s, "offline_access" | "openid"))
        .take(MAX_SCOPE_ATTEMPTS)
        .map(str::to_owned)
        .collect();
    if candidates.is_empty() {
        return Err(Outcome::skip(
            "the metadata lists no scope besides the resource scope to request instead",
        ));
    }

    let client = ctx.main.clone();
    for scope in &candidates {
        let mut request = ctx.authz_request(&client);
        request.set("scope", scope);
        let Ok(issued) = ctx.obtain_code(&client, &request) else {
            continue;
        };
        let Ok(response) = ctx.redeem(&client.auth(), &issued, &[]) else {
            continue;
        };
        let Ok(tokens) = ctx.expect_tokens(response) else {
            continue;
        };
        let granted = tokens.scope.as_deref().unwrap_or(scope);
        if !granted.split(' ').any(|t| t == required) {
            return Ok(tokens.access);
        }
    }
    Err(Outcome::skip(format!(
        "no token without {required} could be obtained with scope {}",
        candidates.join(", ")
    )))
}

fn insufficient_scope(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let token = token_without_resource_scope(ctx)?;

    let response = ctx.call_resource(&url, "Bearer", &token)?;
    if response.status != 403 {
        return Ok(ctx.fail(
            format!("expected 403, got {}", response.summary()),
            &response,
        ));
    }
    let result = challenge_of(&response).and_then(|challenge| match challenge.param("error") {
        Some("insufficient_scope") => Ok(()),
        other => Err(format!(
            "expected error=\"insufficient_scope\" in the challenge, got {other:?}"
        )),
    });
    Ok(ctx.judge(result, &response))
}

fn challenge_syntax(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let probes = [
        HttpRequest::get(url.clone()),
        HttpRequest::get(url).header("authorization", &format!("Bearer {}", random_string(32))),
    ];
    for probe in probes {
        let response = ctx.send(probe)?;
        if !matches!(response.status, 401 | 403) {
            continue;
        }
        if let Err(reason) = challenge_of(&response) {
            return Ok(ctx.fail(reason, &response));
        }
    }
    Ok(Outcome::Pass)
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
    fn rejects_malformed_challenges() {
        assert!(parse_challenge("").is_err());
        assert!(parse_challenge(r#"Bearer realm="open"#).is_err());
        assert!(parse_challenge("Bearer realm").is_err());
        assert!(parse_challenge(r#"Bearer a="1" b="2""#).is_err());
    }

    #[test]
    fn validates_rfc6750_rules() {
        let ok = r#"Bearer resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/v1""#;
        assert!(validate_challenge(ok).is_ok());
        assert!(validate_challenge("Bearer").is_err());
        assert!(validate_challenge(r#"Basic realm="x""#).is_err());
        assert!(validate_challenge(r#"Bearer error="a", error="b""#).is_err());
        assert!(validate_challenge(r#"Bearer scope="datasets:read  x""#).is_err());
        assert!(validate_challenge("Bearer error_description=\"café\"").is_err());
    }
}
