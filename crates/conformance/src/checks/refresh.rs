//! Refresh token checks (RFC 6749 §6, OAuth 2.1 §4.3, RFC 9700 §4.14).

use super::{Check, expect_error, tamper};
use crate::context::{AuthMethod, Client, Ctx, Verdict};
use crate::http::HttpResponse;
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "refresh.rotates",
        name: "OAuth 2.1 §4.3.1: a public client's refresh returns a new refresh token",
        run: rotates,
    },
    Check {
        id: "refresh.reuse-rejected",
        name: "RFC 9700 §4.14.2: a rotated-out refresh token gives invalid_grant",
        run: reuse_rejected,
    },
    Check {
        id: "refresh.reuse-revokes-grant",
        name: "RFC 9700 §4.14.2: reusing a rotated-out refresh token revokes its successor",
        run: reuse_revokes_grant,
    },
    Check {
        id: "refresh.bound-to-client",
        name: "OAuth 2.1 §4.3: a refresh token works only for the client it was issued to",
        run: bound_to_client,
    },
    Check {
        id: "refresh.scope-cannot-grow",
        name: "RFC 6749 §6: a refresh asking for a scope not granted gives invalid_scope",
        run: scope_cannot_grow,
    },
    Check {
        id: "refresh.scope-omitted-keeps-grant",
        name: "RFC 6749 §6: a refresh without scope gets the originally granted scope",
        run: scope_omitted_keeps_grant,
    },
    Check {
        id: "refresh.narrowing-keeps-grant",
        name: "OAuth 2.1 §4.3.3: a refresh token keeps the full grant after a narrowed refresh",
        run: narrowing_keeps_grant,
    },
    Check {
        id: "refresh.tampered-rejected",
        name: "OAuth 2.1 §4.3: a modified refresh token gives invalid_grant",
        run: tampered_rejected,
    },
];

/// Returns the public client when there is one, else the configured client.
fn rotation_client(ctx: &mut Ctx<'_>) -> Client {
    ctx.require_public().unwrap_or_else(|_| ctx.main.clone())
}

/// Result of one refresh with a fresh refresh token.
enum Rotation {
    /// The response carried a new refresh token: the old one and the new one.
    Rotated { old: String, new: String },
    /// The response carried no new refresh token.
    Kept(Box<HttpResponse>),
}

/// Obtains a refresh token for `client` and refreshes once with it.
fn rotate_once(ctx: &mut Ctx<'_>, client: &Client) -> Result<Rotation, Outcome> {
    let (_, old) = ctx.tokens_with_refresh(client)?;
    let response = ctx.refresh(&client.auth(), &old, &[])?;
    let tokens = ctx.expect_tokens(response)?;
    match tokens.refresh {
        Some(new) if new != old => Ok(Rotation::Rotated { old, new }),
        _ => Ok(Rotation::Kept(Box::new(tokens.response))),
    }
}

/// Like [`rotate_once`], but skips when the server did not rotate, so the
/// checks that build on rotation do not repeat the verdict of `refresh.rotates`.
fn require_rotation(ctx: &mut Ctx<'_>, client: &Client) -> Result<(String, String), Outcome> {
    match rotate_once(ctx, client)? {
        Rotation::Rotated { old, new } => Ok((old, new)),
        Rotation::Kept(_) => Err(Outcome::skip(format!(
            "the server did not rotate the refresh token of client {}",
            client.id
        ))),
    }
}

fn rotates(ctx: &mut Ctx<'_>) -> Verdict {
    let client = rotation_client(ctx);
    match rotate_once(ctx, &client)? {
        Rotation::Rotated { .. } => Ok(Outcome::Pass),
        Rotation::Kept(response) if client.method == AuthMethod::None => Ok(ctx.fail(
            "the refresh response has no new refresh token for a public client",
            &response,
        )),
        Rotation::Kept(_) => Err(Outcome::skip(
            "the server does not rotate the confidential client's refresh tokens, which \
             OAuth 2.1 allows, and no public client is available",
        )),
    }
}

fn reuse_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let client = rotation_client(ctx);
    let (old, _) = require_rotation(ctx, &client)?;
    let response = ctx.refresh(&client.auth(), &old, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn reuse_revokes_grant(ctx: &mut Ctx<'_>) -> Verdict {
    let client = rotation_client(ctx);
    let (old, new) = require_rotation(ctx, &client)?;
    let reuse = ctx.refresh(&client.auth(), &old, &[])?;
    if reuse.status == 200 {
        ctx.expect_tokens(reuse.clone()).ok();
        return Err(Outcome::skip(
            "the rotated-out refresh token was accepted again, which refresh.reuse-rejected reports",
        ));
    }
    let response = ctx.refresh(&client.auth(), &new, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn bound_to_client(ctx: &mut Ctx<'_>) -> Verdict {
    let other = ctx.require_public()?;
    let client = ctx.main.clone();
    let (_, refresh) = ctx.tokens_with_refresh(&client)?;
    let response = ctx.refresh(&other.auth(), &refresh, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

/// Returns the scope tokens of a grant: the token response's scope, else the
/// requested one.
fn granted_scope(ctx: &Ctx<'_>, reported: Option<&str>) -> Vec<String> {
    reported
        .or(ctx.config.requested_scope())
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn scope_cannot_grow(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let (tokens, refresh) = ctx.tokens_with_refresh(&client)?;
    let granted = granted_scope(ctx, tokens.scope.as_deref());
    // Prefer a scope listed in the metadata, so the error is about growth, not an unknown name.
    let extra = ctx
        .metadata
        .list("scopes_supported")
        .unwrap_or_default()
        .into_iter()
        .find(|s| !granted.iter().any(|g| g == s) && !matches!(*s, "offline_access" | "openid"))
        .map_or_else(|| String::from("conformance:extra"), str::to_owned);
    let mut wider = granted.clone();
    wider.push(extra);
    let response = ctx.refresh(&client.auth(), &refresh, &[("scope", &wider.join(" "))])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_scope"]),
        &response,
    ))
}

fn scope_omitted_keeps_grant(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let (tokens, refresh) = ctx.tokens_with_refresh(&client)?;
    let mut granted = granted_scope(ctx, tokens.scope.as_deref());
    let response = ctx.refresh(&client.auth(), &refresh, &[])?;
    let refreshed = match ctx.expect_tokens(response) {
        Ok(refreshed) => refreshed,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    let Some(scope) = &refreshed.scope else {
        // An omitted scope means the same scope as before (RFC 6749 §5.1).
        return Ok(Outcome::Pass);
    };
    let mut now: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    now.sort_unstable();
    granted.sort_unstable();
    let result = if now == granted {
        Ok(())
    } else {
        Err(format!(
            "the grant was {:?}, the refresh gave {scope:?}",
            granted.join(" ")
        ))
    };
    Ok(ctx.judge(result, &refreshed.response))
}

fn narrowing_keeps_grant(ctx: &mut Ctx<'_>) -> Verdict {
    let requested: Vec<String> = ctx
        .config
        .requested_scope()
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if requested.len() < 2 {
        return Err(Outcome::skip(
            "needs a grant of two scopes or more: pass --scope with at least two",
        ));
    }

    let client = ctx.main.clone();
    let (tokens, refresh) = ctx.tokens_with_refresh(&client)?;
    let mut granted = granted_scope(ctx, tokens.scope.as_deref());
    if granted.len() < 2 {
        return Err(Outcome::skip("the server granted fewer than two scopes"));
    }

    let narrow = granted[0].clone();
    let response = ctx.refresh(&client.auth(), &refresh, &[("scope", &narrow)])?;
    let narrowed = match ctx.expect_tokens(response) {
        Ok(narrowed) => narrowed,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    if let Some(scope) = &narrowed.scope {
        if scope.trim() != narrow {
            return Ok(ctx.fail(
                format!("asked to narrow to {narrow:?}, the server granted {scope:?}"),
                &narrowed.response,
            ));
        }
    }

    let Some(next) = narrowed.refresh.clone() else {
        // Without rotation the original refresh token still carries the grant.
        return Ok(Outcome::Pass);
    };
    let response = ctx.refresh(&client.auth(), &next, &[])?;
    let widened = match ctx.expect_tokens(response) {
        Ok(widened) => widened,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    let Some(scope) = &widened.scope else {
        return Err(Outcome::skip(
            "the second refresh response has no scope, so the kit cannot see what it covers",
        ));
    };

    let mut now: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    now.sort_unstable();
    granted.sort_unstable();
    let result = if now == granted {
        Ok(())
    } else {
        Err(format!(
            "after narrowing to {narrow:?}, a refresh without scope gave {scope:?}, not the grant {:?}",
            granted.join(" ")
        ))
    };
    Ok(ctx.judge(result, &widened.response))
}

fn tampered_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let (_, refresh) = ctx.tokens_with_refresh(&client)?;
    let response = ctx.refresh(&client.auth(), &tamper(&refresh), &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}
