//! Error response format checks (RFC 6749 §4.1.2.1 and §5.2).

use super::{Check, TOKEN_ERROR_CODES, is_error_text, is_error_uri};
use crate::context::{Auth, Ctx, Verdict};
use crate::flow::{AuthzTrace, Decision};
use crate::http::HttpResponse;
use crate::pkce::random_string;
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "errors.token-error-json",
        name: "RFC 6749 §5.2: token errors are 400 (401 for client authentication) JSON with a registered error code",
        run: token_error_json,
    },
    Check {
        id: "errors.charset",
        name: "RFC 6749 §5.2: error, error_description and error_uri use only the allowed ASCII characters",
        run: charset,
    },
    Check {
        id: "errors.redirect-carries-state",
        name: "RFC 6749 §4.1.2.1: an error redirect carries the state sent",
        run: redirect_carries_state,
    },
];

/// Sends requests that must fail at the token endpoint, one per cause, and
/// returns the responses.
fn trigger_token_errors(ctx: &mut Ctx<'_>) -> Result<Vec<HttpResponse>, Outcome> {
    let auth = ctx.main.auth();
    let code = random_string(32);
    let verifier = random_string(32);
    let redirect_uri = ctx.main.redirect_uri.clone();
    let mut responses = vec![
        ctx.token_request(
            &auth,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
            ],
        )?,
        ctx.token_request(&auth, &[("grant_type", "urn:x:conformance:bogus")])?,
        ctx.token_request(&auth, &[("code", &code)])?,
    ];
    if ctx.main.secret.is_some() {
        let wrong = Auth::Post {
            id: ctx.main.id.clone(),
            secret: format!("wrong-{}", random_string(12)),
        };
        // Complete apart from the secret, so the server gets as far as
        // authenticating the client and returns invalid_client.
        responses.push(ctx.token_request(
            &wrong,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &verifier),
            ],
        )?);
    }
    Ok(responses)
}

fn token_error_json(ctx: &mut Ctx<'_>) -> Verdict {
    for response in trigger_token_errors(ctx)? {
        let error = response.json_str("error");
        let status_ok = match error.as_deref() {
            Some("invalid_client") => matches!(response.status, 400 | 401),
            _ => response.status == 400,
        };
        let reason = if !response.is_json() {
            Some(format!(
                "Content-Type is {:?}, not application/json",
                response.header("content-type").unwrap_or_default()
            ))
        } else if !error
            .as_deref()
            .is_some_and(|e| TOKEN_ERROR_CODES.contains(&e))
        {
            Some(format!(
                "the body has no registered error code: got {}",
                response.summary()
            ))
        } else if !status_ok {
            Some(format!(
                "status {} for error={}",
                response.status,
                error.unwrap_or_default()
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Ok(ctx.fail(reason, &response));
        }
    }
    Ok(Outcome::Pass)
}

/// Returns the first of `error`, `error_description` and `error_uri` with a
/// character outside its allowed set.
fn bad_error_member<'v>(members: impl Iterator<Item = (&'v str, &'v str)>) -> Option<String> {
    for (name, value) in members {
        let ok = match name {
            "error" | "error_description" => is_error_text(value),
            "error_uri" => is_error_uri(value),
            _ => true,
        };
        if !ok {
            return Some(format!(
                "{name} has a character outside the allowed set: {value:?}"
            ));
        }
    }
    None
}

fn charset(ctx: &mut Ctx<'_>) -> Verdict {
    for response in trigger_token_errors(ctx)? {
        let Some(body) = response.json_object() else {
            continue;
        };
        let members = body
            .iter()
            .filter_map(|(name, value)| value.as_str().map(|v| (name.as_str(), v)));
        if let Some(reason) = bad_error_member(members) {
            return Ok(ctx.fail(reason, &response));
        }
    }
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("response_type", "conformance_unknown");
    let trace: AuthzTrace = ctx.authorize(&request, Decision::Approve)?;
    if let crate::flow::Landing::Client { query, .. } = &trace.landing {
        let members = query.iter().map(|(n, v)| (n.as_str(), v.as_str()));
        if let Some(reason) = bad_error_member(members) {
            return Ok(ctx.fail(reason, &trace.last));
        }
    }
    Ok(Outcome::Pass)
}

fn redirect_carries_state(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("response_type", "conformance_unknown");
    let state = request.get("state").unwrap_or_default().to_owned();
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if let Err(reason) = trace.expect_redirect_error("unsupported_response_type") {
        return Ok(ctx.fail(reason, &trace.last));
    }
    let result = match trace.param("state") {
        Some(got) if got == state => Ok(()),
        got => Err(format!(
            "the error redirect carries state {got:?}, not {state:?}"
        )),
    };
    Ok(ctx.judge(result, &trace.last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_bad_error_members() {
        let good = [
            ("error", "invalid_grant"),
            ("error_uri", "https://as.example/e"),
            ("state", "é"),
        ];
        assert_eq!(bad_error_member(good.into_iter()), None);
        let quote = [("error_description", "a \"quoted\" word")];
        assert!(bad_error_member(quote.into_iter()).is_some());
        let space = [("error_uri", "https://as.example/a b")];
        assert!(bad_error_member(space.into_iter()).is_some());
    }
}
