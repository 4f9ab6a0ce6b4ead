//! Token introspection checks (RFC 7662).

use serde_json::Value;

use super::Check;
use crate::context::{Auth, Ctx, Verdict};
use crate::pkce::random_string;
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "introspect.requires-auth",
        name: "RFC 7662 §2.1: the introspection endpoint requires the caller to authenticate",
        run: requires_auth,
    },
    Check {
        id: "introspect.active-token",
        name: "RFC 7662 §2.2: a valid access token introspects as active: true",
        run: active_token,
    },
    Check {
        id: "introspect.wrong-hint",
        name: "RFC 7662 §2.1: a wrong token_type_hint does not change the answer",
        run: wrong_hint,
    },
    Check {
        id: "introspect.inactive-token",
        name: "RFC 7662 §2.2: an unknown token introspects as exactly {\"active\":false}",
        run: inactive_token,
    },
];

fn require_introspection(ctx: &Ctx<'_>) -> Result<String, Outcome> {
    ctx.require_endpoint(ctx.endpoints.introspection.as_ref(), "introspection")
}

fn requires_auth(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_introspection(ctx)?;
    let client = ctx.main.clone();
    let tokens = ctx.standard_tokens(&client)?;
    let response = ctx.post_with_auth(&endpoint, &Auth::Nothing, &[("token", &tokens.access)])?;
    let active = response
        .json_object()
        .and_then(|body| body.get("active").and_then(Value::as_bool))
        .unwrap_or(false);
    let result = if active {
        Err(String::from(
            "an unauthenticated caller learnt that the token is active",
        ))
    } else if matches!(response.status, 400 | 401) {
        Ok(())
    } else {
        Err(format!("expected 401, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

/// Introspects a fresh access token with the configured client and `hint`,
/// expecting `active: true`.
fn expect_active(ctx: &mut Ctx<'_>, hint: Option<&str>) -> Verdict {
    let endpoint = require_introspection(ctx)?;
    let client = ctx.require_secret()?;
    let tokens = ctx.standard_tokens(&client)?;
    let mut params = vec![("token", tokens.access.as_str())];
    if let Some(hint) = hint {
        params.push(("token_type_hint", hint));
    }
    let response = ctx.post_with_auth(&endpoint, &client.auth(), &params)?;
    let body = response.json_object();
    let result = match body.as_ref().and_then(|b| b.get("active")) {
        Some(Value::Bool(true)) if response.status == 200 => Ok(()),
        Some(other) => Err(format!(
            "expected 200 with active: true, got {} with active: {other}",
            response.status
        )),
        None => Err(format!(
            "expected 200 JSON with active: true, got {}",
            response.summary()
        )),
    };
    Ok(ctx.judge(result, &response))
}

fn active_token(ctx: &mut Ctx<'_>) -> Verdict {
    expect_active(ctx, None)
}

fn wrong_hint(ctx: &mut Ctx<'_>) -> Verdict {
    expect_active(ctx, Some("refresh_token"))
}

fn inactive_token(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_introspection(ctx)?;
    let client = ctx.require_secret()?;
    let response =
        ctx.post_with_auth(&endpoint, &client.auth(), &[("token", &random_string(32))])?;
    let body = response.json_object();
    let exact = body
        .as_ref()
        .is_some_and(|b| b.len() == 1 && b.get("active") == Some(&Value::Bool(false)));
    let result = match (response.status, exact) {
        (200, true) => Ok(()),
        (200, false) => Err(String::from(
            "expected exactly {\"active\":false}, got a different body",
        )),
        _ => Err(format!("expected 200, got {}", response.summary())),
    };
    Ok(ctx.judge(result, &response))
}
