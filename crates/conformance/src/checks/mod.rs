//! The check catalog and the expectations the checks share.

mod authorize;
mod bearer;
mod client_auth;
mod cors;
mod errors;
mod indicators;
mod introspect;
mod metadata;
mod pkce;
mod refresh;
mod register;
mod resource_metadata;
mod revoke;
mod token;

use crate::context::{Ctx, Verdict};
use crate::http::HttpResponse;
use crate::report::Outcome;

/// One check: a stable id, the requirement it tests, and the code that tests it.
pub(crate) struct Check {
    pub(crate) id: &'static str,
    pub(crate) name: &'static str,
    pub(crate) run: fn(&mut Ctx<'_>) -> Verdict,
}

/// Check groups in run order. Checks that wait, that may lock the test
/// client out, or that use up the registration limit come last.
const GROUPS: [&[Check]; 15] = [
    metadata::CHECKS,
    authorize::CHECKS,
    pkce::CHECKS,
    token::CHECKS,
    client_auth::CHECKS,
    refresh::CHECKS,
    errors::CHECKS,
    revoke::CHECKS,
    introspect::CHECKS,
    register::CHECKS,
    bearer::CHECKS,
    resource_metadata::CHECKS,
    indicators::CHECKS,
    cors::CHECKS,
    LATE,
];

/// Checks that exhaust the registration limit, wait for a code to expire, or
/// send many wrong secrets. The two `--brute-force` checks come last, because
/// on a server that throttles they lock the test client out for a while.
const LATE: &[Check] = &[
    register::RATE_LIMITED,
    token::CODE_EXPIRES,
    client_auth::BRUTE_FORCE,
    client_auth::LOCKOUT_SPARES_OTHERS,
];

/// Checks whose verdict rests on a 429 or its absence. Their requests are not
/// sent again after a short `Retry-After`, and a 429 does not turn their
/// verdict into a skip.
const RATE_LIMIT_CHECKS: [&str; 3] = [
    register::RATE_LIMITED.id,
    client_auth::BRUTE_FORCE.id,
    client_auth::LOCKOUT_SPARES_OTHERS.id,
];

/// Returns whether the check `id` tests rate limiting itself.
pub(crate) fn tests_rate_limits(id: &str) -> bool {
    RATE_LIMIT_CHECKS.contains(&id)
}

/// Returns every check in run order.
pub(crate) fn all() -> impl Iterator<Item = &'static Check> {
    GROUPS.into_iter().flatten()
}

/// Token endpoint error codes of RFC 6749 §5.2 and RFC 8707 §2.
pub(crate) const TOKEN_ERROR_CODES: [&str; 7] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
];

/// Checks that a response is an OAuth error with one of `statuses` and one of `codes`.
pub(crate) fn expect_error(
    response: &HttpResponse,
    statuses: &[u16],
    codes: &[&str],
) -> Result<(), String> {
    let error = response.json_str("error");
    let status_ok = statuses.contains(&response.status);
    let code_ok = error.as_deref().is_some_and(|e| codes.contains(&e));
    if status_ok && code_ok {
        return Ok(());
    }
    let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
    Err(format!(
        "expected {} with error={}, got {}",
        statuses.join(" or "),
        codes.join(" or "),
        response.summary()
    ))
}

/// Checks that a response is 200 and carries an access token.
pub(crate) fn expect_success(response: &HttpResponse) -> Result<(), String> {
    let has_token = response
        .json_object()
        .and_then(|body| body.get("access_token").map(|t| t.is_string()))
        .unwrap_or(false);
    if response.status == 200 && has_token {
        Ok(())
    } else {
        Err(format!(
            "expected 200 with an access_token, got {}",
            response.summary()
        ))
    }
}

/// Skips unless the protected resource or introspection confirms that a fresh
/// access token works, so a later "no longer works" means something.
pub(crate) fn require_active(ctx: &mut Ctx<'_>, token: &str) -> Result<(), Outcome> {
    match ctx.access_token_state(token) {
        Some((true, _)) => Ok(()),
        _ => Err(Outcome::skip(
            "neither the protected resource nor introspection confirmed the fresh access token",
        )),
    }
}

/// Passes when the access token is still accepted (`expect_active`) or no
/// longer accepted (`!expect_active`); `failure` describes the other case.
pub(crate) fn expect_token_state(
    ctx: &mut Ctx<'_>,
    token: &str,
    expect_active: bool,
    failure: &str,
) -> Verdict {
    match ctx.access_token_state(token) {
        Some((active, _)) if active == expect_active => Ok(Outcome::Pass),
        Some((_, response)) => Ok(ctx.fail(failure, &response)),
        None => Err(Outcome::skip(
            "could not tell whether the access token still works",
        )),
    }
}

/// Returns `token` with its last character changed, for tampering checks.
pub(crate) fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    if let Some(last) = chars.last_mut() {
        *last = if *last == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// Returns whether a string uses only the characters RFC 6749 §5.2 allows in
/// `error` and `error_description`: printable ASCII except `"` and `\`.
pub(crate) fn is_error_text(value: &str) -> bool {
    value
        .bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Returns whether a string uses only the characters RFC 6749 §5.2 allows in
/// `error_uri`: printable ASCII except space, `"` and `\`.
pub(crate) fn is_error_uri(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for check in all() {
            assert!(seen.insert(check.id), "duplicate id {}", check.id);
            let (group, rest) = check.id.split_once('.').unwrap_or_default();
            assert!(
                !group.is_empty() && !rest.is_empty(),
                "id {} has no group",
                check.id
            );
            assert!(
                check.id.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'.'),
                "id {} has characters outside [a-z0-9.-]",
                check.id
            );
        }
    }

    #[test]
    fn names_cite_a_section() {
        for check in all() {
            let (source, requirement) = check.name.split_once(": ").unwrap_or_default();
            // MCP specification sections have titles, not numbers: MCP 2025-11-25 "Token Handling".
            let mcp_section = source.starts_with("MCP ") && source.ends_with('"');
            assert!(
                source.contains('§') || source.contains("Appendix") || mcp_section,
                "{} cites no section",
                check.id
            );
            assert!(
                !requirement.is_empty(),
                "{} states no requirement",
                check.id
            );
        }
    }

    #[test]
    fn tamper_changes_one_character() {
        assert_eq!(tamper("abcA"), "abcB");
        assert_eq!(tamper("abcd"), "abcA");
        assert_eq!(tamper(""), "");
    }

    #[test]
    fn error_charsets() {
        assert!(is_error_text("invalid_grant"));
        assert!(is_error_text("the code has expired!"));
        assert!(!is_error_text("bad \"quote\""));
        assert!(!is_error_text("back\\slash"));
        assert!(!is_error_text("line\nbreak"));
        assert!(!is_error_text("café"));
        assert!(is_error_uri("https://as.example/errors#x"));
        assert!(!is_error_uri("https://as.example/a b"));
        assert!(!is_error_uri(""));
    }
}
