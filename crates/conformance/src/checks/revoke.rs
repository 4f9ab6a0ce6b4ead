//! Token revocation checks (RFC 7009).

use super::{Check, expect_error, expect_token_state, require_active};
use crate::context::{Auth, Client, Ctx, Verdict};
use crate::http::HttpResponse;
use crate::pkce::random_string;
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "revoke.refresh-token",
        name: "RFC 7009 §2.1: a revoked refresh token no longer refreshes",
        run: refresh_token,
    },
    Check {
        id: "revoke.wrong-hint",
        name: "RFC 7009 §2.1: a wrong token_type_hint does not stop revocation",
        run: wrong_hint,
    },
    Check {
        id: "revoke.unknown-token",
        name: "RFC 7009 §2.2: revoking an unknown token answers 200",
        run: unknown_token,
    },
    Check {
        id: "revoke.requires-client-auth",
        name: "RFC 7009 §2.1: a confidential client must authenticate to revoke",
        run: requires_client_auth,
    },
    Check {
        id: "revoke.other-client-cannot",
        name: "RFC 7009 §2.1: a client cannot revoke another client's token",
        run: other_client_cannot,
    },
    Check {
        id: "revoke.refresh-revokes-access",
        name: "RFC 7009 §2.1: revoking a refresh token also invalidates its access tokens (SHOULD)",
        run: refresh_revokes_access,
    },
    Check {
        id: "revoke.access-token",
        name: "RFC 7009 §2.2.1: revoking an access token answers 200 or unsupported_token_type",
        run: access_token,
    },
];

/// Posts a revocation request.
fn revoke(
    ctx: &Ctx<'_>,
    endpoint: &str,
    auth: &Auth,
    token: &str,
    hint: Option<&str>,
) -> Result<HttpResponse, Outcome> {
    let mut params = vec![("token", token)];
    if let Some(hint) = hint {
        params.push(("token_type_hint", hint));
    }
    Ok(ctx.post_with_auth(endpoint, auth, &params)?)
}

fn require_revocation(ctx: &Ctx<'_>) -> Result<String, Outcome> {
    ctx.require_endpoint(ctx.endpoints.revocation.as_ref(), "revocation")
}

/// Revokes a fresh refresh token of `client` with `hint`, then expects refreshing with it to fail.
fn revoke_then_refresh(ctx: &mut Ctx<'_>, client: &Client, hint: Option<&str>) -> Verdict {
    let endpoint = require_revocation(ctx)?;
    let (_, refresh) = ctx.tokens_with_refresh(client)?;
    let response = revoke(ctx, &endpoint, &client.auth(), &refresh, hint)?;
    if response.status != 200 {
        return Ok(ctx.fail(
            format!("expected 200, got {}", response.summary()),
            &response,
        ));
    }
    let after = ctx.refresh(&client.auth(), &refresh, &[])?;
    Ok(ctx.judge(expect_error(&after, &[400], &["invalid_grant"]), &after))
}

fn refresh_token(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    revoke_then_refresh(ctx, &client, Some("refresh_token"))
}

fn wrong_hint(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    revoke_then_refresh(ctx, &client, Some("access_token"))
}

fn unknown_token(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_revocation(ctx)?;
    let auth = ctx.main.auth();
    let response = revoke(ctx, &endpoint, &auth, &random_string(32), None)?;
    let result = if response.status == 200 {
        Ok(())
    } else {
        Err(format!("expected 200, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

fn requires_client_auth(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_revocation(ctx)?;
    let client = ctx.require_secret()?;
    let (_, refresh) = ctx.tokens_with_refresh(&client)?;
    let response = revoke(ctx, &endpoint, &Auth::Id(client.id.clone()), &refresh, None)?;
    Ok(ctx.judge(
        expect_error(&response, &[400, 401], &["invalid_client"]),
        &response,
    ))
}

fn other_client_cannot(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_revocation(ctx)?;
    let other = ctx.require_public()?;
    let client = ctx.main.clone();
    let (_, refresh) = ctx.tokens_with_refresh(&client)?;
    // The response may be 200 or an error (RFC 7009 §2.1), so only the effect counts.
    revoke(ctx, &endpoint, &other.auth(), &refresh, None)?;
    let after = ctx.refresh(&client.auth(), &refresh, &[])?;
    if after.status == 200 {
        ctx.expect_tokens(after).ok();
        Ok(Outcome::Pass)
    } else {
        Ok(ctx.fail(
            format!(
                "after another client asked to revoke it, the refresh token was answered {}",
                after.summary()
            ),
            &after,
        ))
    }
}

fn refresh_revokes_access(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_revocation(ctx)?;
    let client = ctx.main.clone();
    let (tokens, refresh) = ctx.tokens_with_refresh(&client)?;
    require_active(ctx, &tokens.access)?;
    let response = revoke(
        ctx,
        &endpoint,
        &client.auth(),
        &refresh,
        Some("refresh_token"),
    )?;
    if response.status != 200 {
        return Ok(ctx.fail(
            format!("expected 200, got {}", response.summary()),
            &response,
        ));
    }
    expect_token_state(
        ctx,
        &tokens.access,
        false,
        "the access token still works after its refresh token was revoked",
    )
}

fn access_token(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = require_revocation(ctx)?;
    let client = ctx.main.clone();
    let tokens = ctx.standard_tokens(&client)?;
    let response = revoke(
        ctx,
        &endpoint,
        &client.auth(),
        &tokens.access,
        Some("access_token"),
    )?;
    let result = match (response.status, response.json_str("error").as_deref()) {
        (200, _) | (400, Some("unsupported_token_type")) => Ok(()),
        _ => Err(format!(
            "expected 200 or 400 with error=unsupported_token_type, got {}",
            response.summary()
        )),
    };
    Ok(ctx.judge(result, &response))
}
