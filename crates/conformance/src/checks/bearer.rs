//! Bearer token use at the protected resource (RFC 6750, OAuth 2.1 §5).

use super::{Check, is_error_text, is_error_uri};
use crate::challenge::{Challenge, parse_challenge};
use crate::context::{Ctx, Verdict};
use crate::http::{HttpRequest, HttpResponse};
use crate::pkce::random_string;
use crate::protected::ResourceRole;
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
        id: "bearer.insufficient-scope-names-scope",
        name: "MCP 2025-11-25 \"Runtime Insufficient Scope Errors\": a 403 insufficient_scope challenge names the scope needed",
        run: insufficient_scope_names_scope,
    },
    Check {
        id: "bearer.two-methods-rejected",
        name: "RFC 6750 §3.1: a token sent both in the header and in the form body gives 400 invalid_request (SHOULD)",
        run: two_methods_rejected,
    },
    Check {
        id: "bearer.challenge-syntax",
        name: "RFC 6750 §3: challenges use the Bearer scheme with well-formed, unrepeated parameters",
        run: challenge_syntax,
    },
];

/// Checks a challenge against RFC 6750 §3 and RFC 9110 §11.2: scheme Bearer,
/// at least one parameter, no parameter name twice, and values in the
/// characters RFC 6750 allows.
pub(super) fn validate_challenge(header: &str) -> Result<Challenge, String> {
    let challenge = parse_challenge(header)?;
    if !challenge.scheme.eq_ignore_ascii_case("bearer") {
        return Err(format!("the scheme is {:?}, not Bearer", challenge.scheme));
    }
    if challenge.params.is_empty() {
        return Err(String::from("the challenge has no parameters"));
    }
    for (index, param) in challenge.params.iter().enumerate() {
        let repeated = challenge.params[..index]
            .iter()
            .any(|earlier| earlier.name.eq_ignore_ascii_case(&param.name));
        if repeated {
            return Err(format!("{} appears more than once", param.name));
        }
        let value = param.value.as_str();
        let ok = match param.name.to_ascii_lowercase().as_str() {
            "error" | "error_description" => is_error_text(value),
            "error_uri" => is_error_uri(value),
            "scope" => value.split(' ').all(|s| !s.is_empty() && is_error_uri(s)),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "{} has a character outside the allowed set: {value:?}",
                param.name
            ));
        }
    }
    Ok(challenge)
}

/// Returns the challenge of a 401 or 403, checked by [`validate_challenge`],
/// or a failure reason.
pub(super) fn challenge_of(response: &HttpResponse) -> Result<Challenge, String> {
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
    let response = ctx.send(ctx.resource_target(url).request())?;
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
    let target = ctx.resource_target(format!("{url}{separator}{query}"));
    let response = ctx.send(target.request())?;
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

/// Calls the resource with a token that lacks the resource scope and returns
/// the response, or a skip when no such token can be obtained.
fn call_without_resource_scope(ctx: &mut Ctx<'_>) -> Result<HttpResponse, Outcome> {
    let url = ctx.require_resource()?;
    let token = token_without_resource_scope(ctx)?;
    Ok(ctx.call_resource(&url, "Bearer", &token)?)
}

fn insufficient_scope(ctx: &mut Ctx<'_>) -> Verdict {
    let response = call_without_resource_scope(ctx)?;
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

fn insufficient_scope_names_scope(ctx: &mut Ctx<'_>) -> Verdict {
    let response = call_without_resource_scope(ctx)?;
    let challenge = challenge_of(&response).ok();
    let is_scope_error = challenge
        .as_ref()
        .is_some_and(|c| c.param("error") == Some("insufficient_scope"));
    if response.status != 403 || !is_scope_error {
        return Err(Outcome::skip(format!(
            "the resource answered {} rather than 403 insufficient_scope, which \
             bearer.insufficient-scope reports",
            response.summary()
        )));
    }
    let result = match challenge.as_ref().and_then(|c| c.param("scope")) {
        Some(scope) if !scope.trim().is_empty() => Ok(()),
        Some(_) => Err(String::from("the challenge has an empty scope")),
        None => Err(String::from(
            "the insufficient_scope challenge has no scope, so the client cannot tell what to request",
        )),
    };
    Ok(ctx.judge(result, &response))
}

fn two_methods_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let token = resource_token(ctx)?;
    let request = HttpRequest::post_form(url, &[("access_token", &token)])
        .header("authorization", &format!("Bearer {token}"));
    let response = ctx.send(request)?;
    if matches!(response.status, 404 | 405 | 415 | 501) {
        return Err(Outcome::skip(format!(
            "the resource answered {} to a POST with a form body, so it takes no form \
             body to send a token in",
            response.status
        )));
    }
    let code = challenge_of(&response)
        .ok()
        .and_then(|challenge| challenge.param("error").map(str::to_owned))
        .or_else(|| response.json_str("error"));
    if response.status == 400 && code.as_deref() == Some("invalid_request") {
        return Ok(Outcome::Pass);
    }
    if (200..300).contains(&response.status) && !accepts_body_tokens(ctx) {
        return Err(Outcome::skip(
            "the resource ignored the form body, and its metadata lists no body method in \
             bearer_methods_supported, so it need not read access_token there",
        ));
    }
    Ok(ctx.fail(
        format!(
            "expected 400 with error=invalid_request, got {}",
            response.summary()
        ),
        &response,
    ))
}

/// Returns whether the resource may read tokens from a form body: its
/// metadata lists `body` in `bearer_methods_supported`, or the kit found no
/// `bearer_methods_supported` list.
fn accepts_body_tokens(ctx: &mut Ctx<'_>) -> bool {
    let Ok(site) = ctx.require_site(ResourceRole::Primary) else {
        return true;
    };
    let methods = site
        .metadata
        .document()
        .and_then(|document| document.get("bearer_methods_supported"))
        .and_then(serde_json::Value::as_array)
        .cloned();
    match methods {
        Some(methods) => methods.iter().any(|m| m.as_str() == Some("body")),
        None => true,
    }
}

fn challenge_syntax(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let mut targets = vec![ctx.resource_target(url)];
    if let Ok(other) = ctx.other_target() {
        targets.push(other);
    }
    let invalid = random_string(32);
    for target in targets {
        for probe in [target.request(), target.with_token("Bearer", &invalid)] {
            let response = ctx.send(probe)?;
            if !matches!(response.status, 401 | 403) {
                continue;
            }
            if let Err(reason) = challenge_of(&response) {
                return Ok(ctx.fail(reason, &response));
            }
        }
    }
    Ok(Outcome::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn any_repeated_parameter_is_rejected() {
        let repeated = r#"Bearer resource_metadata="http://h/a", Resource_Metadata="http://h/b""#;
        assert!(validate_challenge(repeated).is_err());
    }
}
