//! Resource indicator checks (RFC 8707, with the MCP 2025-11-25 rules for
//! audience-bound tokens), driven by the `resource` of the protected
//! resource metadata.

use url::Url;

use super::authorize::expect_redirect_error;
use super::bearer::challenge_of;
use super::{Check, expect_error, expect_success};
use crate::context::{Ctx, FlowError, Verdict};
use crate::flow::{Decision, Issued, Tokens};
use crate::protected::{ResourceRole, Site, non_canonical};
use crate::report::Outcome;

/// A resource that no authorization server serves. The kit only sends it as a
/// parameter value and never connects to it (`.invalid` is reserved by RFC 6761).
const UNKNOWN_RESOURCE: &str = "https://unknown.invalid/mcp";

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "resource-indicator.authorize-and-redeem",
        name: "RFC 8707 §2: a code requested and redeemed with the metadata's resource gives a token the resource accepts",
        run: authorize_and_redeem,
    },
    Check {
        id: "resource-indicator.repeated-rejected",
        name: "RFC 8707 §2: two resource parameters give invalid_target unless multi-resource tokens are issued",
        run: repeated_rejected,
    },
    Check {
        id: "resource-indicator.relative-rejected",
        name: "RFC 8707 §2: a relative resource gives invalid_target",
        run: relative_rejected,
    },
    Check {
        id: "resource-indicator.fragment-rejected",
        name: "RFC 8707 §2: a resource with a fragment gives invalid_target",
        run: fragment_rejected,
    },
    Check {
        id: "resource-indicator.unknown-at-authorize",
        name: "RFC 8707 §2: an unknown resource at the authorization endpoint gives invalid_target",
        run: unknown_at_authorize,
    },
    Check {
        id: "resource-indicator.unknown-at-token",
        name: "RFC 8707 §2.2: an unknown resource at the token endpoint gives 400 invalid_target",
        run: unknown_at_token,
    },
    Check {
        id: "resource-indicator.token-differs-rejected",
        name: "RFC 8707 §2.2: redeeming a code for another resource than the authorized one is rejected",
        run: token_differs_rejected,
    },
    Check {
        id: "resource-indicator.refresh-same-accepted",
        name: "RFC 8707 §2.2: a refresh that repeats the granted resource succeeds",
        run: refresh_same_accepted,
    },
    Check {
        id: "resource-indicator.refresh-other-rejected",
        name: "RFC 9700 §4.14.2: a refresh for another or an unknown resource is rejected",
        run: refresh_other_rejected,
    },
    Check {
        id: "resource-indicator.non-canonical-accepted",
        name: "MCP 2025-11-25 \"Canonical Server URI\": an upper-case or trailing-slash resource is accepted (SHOULD)",
        run: non_canonical_accepted,
    },
    Check {
        id: "resource-indicator.audience-restricted",
        name: "MCP 2025-11-25 \"Token Handling\": a token issued for one resource gets 401 invalid_token at another",
        run: audience_restricted,
    },
];

/// Returns the `resource` value of a configured resource: its metadata's
/// `resource`, else the identifier flag, or a skip when there is neither.
fn resource_of(ctx: &mut Ctx<'_>, role: ResourceRole) -> Result<(Site, String), Outcome> {
    let site = ctx.require_site(role)?;
    let flag = match role {
        ResourceRole::Primary => "--resource",
        ResourceRole::Other => "--other-resource",
    };
    match site.resource_value() {
        Some(value) => Ok((site, value)),
        None => Err(Outcome::skip(format!(
            "the resource metadata of {} names no resource; pass {flag}",
            site.target.url
        ))),
    }
}

/// Runs an approved authorization of the configured client with
/// `resource=<resource>` and, when given, `scope=<scope>`.
fn code_for(ctx: &mut Ctx<'_>, resource: &str, scope: Option<&str>) -> Result<Issued, FlowError> {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("resource", resource);
    if let Some(scope) = scope {
        request.set("scope", scope);
    }
    ctx.obtain_code(&client, &request)
}

/// Obtains tokens with `resource=<resource>` on both the authorization and
/// the token request, as MCP clients send it.
fn tokens_for(ctx: &mut Ctx<'_>, resource: &str, scope: Option<&str>) -> Result<Tokens, FlowError> {
    let issued = code_for(ctx, resource, scope)?;
    let auth = ctx.main.auth();
    let response = ctx.redeem(&auth, &issued, &[("resource", resource)])?;
    ctx.expect_tokens(response)
}

/// Returns the scope the other resource needs: the flag, else the scope its
/// challenge names, else the scope requested for the first resource.
fn other_scope(ctx: &Ctx<'_>, site: &Site) -> Option<String> {
    if let Some(scope) = &ctx.config.other_resource_scope {
        return Some(scope.clone());
    }
    let challenged = challenge_of(&site.unauthenticated)
        .ok()
        .and_then(|challenge| challenge.param("scope").map(str::to_owned));
    challenged.or_else(|| ctx.config.requested_scope().map(str::to_owned))
}

/// Joins two space-separated scopes, dropping repeated tokens.
fn scope_union(first: &str, second: &str) -> String {
    let mut tokens: Vec<&str> = Vec::new();
    for token in first.split(' ').chain(second.split(' ')) {
        if !token.is_empty() && !tokens.contains(&token) {
            tokens.push(token);
        }
    }
    tokens.join(" ")
}

fn authorize_and_redeem(ctx: &mut Ctx<'_>) -> Verdict {
    let url = ctx.require_resource()?;
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let issued = match code_for(ctx, &resource, None) {
        Ok(issued) => issued,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    let auth = ctx.main.auth();
    let response = ctx.redeem(&auth, &issued, &[("resource", &resource)])?;
    let tokens = match ctx.expect_tokens(response) {
        Ok(tokens) => tokens,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    let call = ctx.call_resource(&url, "Bearer", &tokens.access)?;
    let result = if (200..300).contains(&call.status) {
        Ok(())
    } else {
        Err(format!(
            "the token issued for {resource} was refused at {url}: {}",
            call.summary()
        ))
    };
    Ok(ctx.judge(result, &call))
}

fn repeated_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let second = match resource_of(ctx, ResourceRole::Other) {
        Ok((_, other)) => other,
        Err(_) => resource.clone(),
    };
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("resource", &resource).push("resource", &second);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.param("error") == Some("invalid_target") {
        return Ok(Outcome::Pass);
    }
    if trace.param("code").is_some() {
        return Err(Outcome::skip(
            "the server accepted two resource values, which RFC 8707 §2 allows for a token \
             meant for several resources",
        ));
    }
    Ok(ctx.judge(trace.expect_redirect_error("invalid_target"), &trace.last))
}

fn relative_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let path = Url::parse(&resource)
        .map(|url| url.path().to_owned())
        .unwrap_or_default();
    // A path-absolute reference, such as /mcp, is relative however a server parses it.
    let relative = if path.len() > 1 {
        path
    } else {
        String::from("/mcp")
    };
    expect_redirect_error(ctx, "invalid_target", |request| {
        request.set("resource", &relative);
    })
}

fn fragment_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let with_fragment = format!("{resource}#conformance");
    expect_redirect_error(ctx, "invalid_target", |request| {
        request.set("resource", &with_fragment);
    })
}

fn unknown_at_authorize(ctx: &mut Ctx<'_>) -> Verdict {
    expect_redirect_error(ctx, "invalid_target", |request| {
        request.set("resource", UNKNOWN_RESOURCE);
    })
}

fn unknown_at_token(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let issued = code_for(ctx, &resource, None)?;
    let auth = ctx.main.auth();
    let response = ctx.redeem(&auth, &issued, &[("resource", UNKNOWN_RESOURCE)])?;
    if response.status == 200 {
        ctx.expect_tokens(response.clone()).ok();
    }
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_target"]),
        &response,
    ))
}

fn token_differs_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let (_, other) = resource_of(ctx, ResourceRole::Other)?;
    if other == resource {
        return Err(Outcome::skip(
            "the other resource has the same identifier as the first one",
        ));
    }
    let issued = code_for(ctx, &resource, None)?;
    let auth = ctx.main.auth();
    let response = ctx.redeem(&auth, &issued, &[("resource", &other)])?;
    if response.status == 200 {
        ctx.expect_tokens(response.clone()).ok();
    }
    let result =
        expect_error(&response, &[400], &["invalid_target", "invalid_grant"]).map_err(|reason| {
            format!("the code was authorized for {resource} and redeemed for {other}: {reason}")
        });
    Ok(ctx.judge(result, &response))
}

/// Obtains tokens bound to the first resource and returns the refresh token.
fn refresh_token_for(ctx: &mut Ctx<'_>, resource: &str) -> Result<String, Outcome> {
    let tokens = tokens_for(ctx, resource, None)?;
    tokens
        .refresh
        .ok_or_else(|| Outcome::skip("the server issued no refresh token"))
}

fn refresh_same_accepted(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let refresh = refresh_token_for(ctx, &resource)?;
    let auth = ctx.main.auth();
    let response = ctx.refresh(&auth, &refresh, &[("resource", &resource)])?;
    let result = expect_success(&response);
    if result.is_ok() {
        ctx.expect_tokens(response.clone()).ok();
    }
    Ok(ctx.judge(result, &response))
}

fn refresh_other_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let mut others = Vec::new();
    if let Ok((_, other)) = resource_of(ctx, ResourceRole::Other) {
        if other != resource {
            others.push(other);
        }
    }
    others.push(UNKNOWN_RESOURCE.to_owned());

    let refresh = refresh_token_for(ctx, &resource)?;
    let auth = ctx.main.auth();
    for other in others {
        let response = ctx.refresh(&auth, &refresh, &[("resource", &other)])?;
        if response.status == 200 {
            ctx.expect_tokens(response.clone()).ok();
        }
        let result = expect_error(&response, &[400], &["invalid_target", "invalid_grant"]);
        if let Err(reason) = result {
            return Ok(ctx.fail(
                format!("the grant is for {resource}, the refresh asked for {other}: {reason}"),
                &response,
            ));
        }
    }
    Ok(Outcome::Pass)
}

fn non_canonical_accepted(ctx: &mut Ctx<'_>) -> Verdict {
    const REJECTED: &str = "rejected non-canonical resource (SHOULD)";
    let url = ctx.require_resource()?;
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    let Some(variant) = non_canonical(&resource) else {
        return Err(Outcome::skip(format!(
            "no non-canonical form of {resource} could be built"
        )));
    };

    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("resource", &variant);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if let Some(error) = trace.param("error") {
        return Err(Outcome::skip(format!(
            "{REJECTED}: the authorization request with {variant} got error={error}"
        )));
    }
    let Some(code) = trace.param("code").map(str::to_owned) else {
        return Err(FlowError::with_response(
            format!(
                "no authorization code: the flow ended with {}",
                trace.describe()
            ),
            &trace.last,
        )
        .into());
    };
    let issued = Issued {
        code,
        verifier: request.verifier.clone(),
        redirect_uri: request.get("redirect_uri").map(str::to_owned),
        trace,
    };

    let auth = ctx.main.auth();
    let response = ctx.redeem(&auth, &issued, &[("resource", &variant)])?;
    if response.status != 200 {
        return Err(Outcome::skip(format!(
            "{REJECTED}: the token request with {variant} got {}",
            response.summary()
        )));
    }
    let tokens = ctx.expect_tokens(response)?;

    let call = ctx.call_resource(&url, "Bearer", &tokens.access)?;
    let result = if (200..300).contains(&call.status) {
        Ok(())
    } else {
        Err(format!(
            "the server accepted {variant}, but the token it issued was refused at {url}: {}",
            call.summary()
        ))
    };
    Ok(ctx.judge(result, &call))
}

fn audience_restricted(ctx: &mut Ctx<'_>) -> Verdict {
    let (other_site, other) = resource_of(ctx, ResourceRole::Other)?;
    let url = ctx.require_resource()?;
    let (_, resource) = resource_of(ctx, ResourceRole::Primary)?;
    if other == resource {
        return Err(Outcome::skip(
            "the other resource has the same identifier as the first one",
        ));
    }
    let needed = other_scope(ctx, &other_site);

    // A token issued for the other resource must work there, or its refusal below means nothing.
    let own = tokens_for(ctx, &other, needed.as_deref())?;
    let control = ctx.send(other_site.target.with_token("Bearer", &own.access))?;
    if !(200..300).contains(&control.status) {
        return Err(Outcome::skip(format!(
            "{} refused a token issued for it with resource={other}: {}; check \
             --other-resource-scope, --other-resource-method and --other-resource-body",
            other_site.target.url,
            control.summary()
        )));
    }

    let first_scope = ctx
        .config
        .requested_scope()
        .unwrap_or(&ctx.config.resource_scope)
        .to_owned();
    let scope = scope_union(&first_scope, needed.as_deref().unwrap_or_default());
    let cross = tokens_for(ctx, &resource, Some(&scope))?;
    let home = ctx.call_resource(&url, "Bearer", &cross.access)?;
    if !(200..300).contains(&home.status) {
        return Err(Outcome::skip(format!(
            "the token issued for {resource} was refused at {url} too: {}",
            home.summary()
        )));
    }
    let response = ctx.send(other_site.target.with_token("Bearer", &cross.access))?;
    if response.status != 401 {
        return Ok(ctx.fail(
            format!(
                "a token issued for {resource} with scope {scope:?} got {} at {}, expected 401",
                response.summary(),
                other_site.target.url
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_union_keeps_order_without_repeats() {
        assert_eq!(
            scope_union("datasets:read mcp:query", "mcp:query"),
            "datasets:read mcp:query"
        );
        assert_eq!(scope_union("", "mcp:query"), "mcp:query");
        assert_eq!(scope_union("a", "b  c"), "a b c");
    }
}
