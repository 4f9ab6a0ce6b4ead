//! Token endpoint checks (RFC 6749 §4.1.3 and §5, OAuth 2.1 §3.2 and §4.1.3).

use std::time::Duration;

use serde_json::Value;

use super::{Check, expect_error, expect_success, expect_token_state, require_active, tamper};
use crate::context::{Auth, Ctx, Verdict};
use crate::flow::basic_credentials;
use crate::http::{HttpRequest, encode_form};
use crate::pkce::random_string;
use crate::report::Outcome;

/// Maximum code lifetime the kit waits for, in seconds: OAuth 2.1 §4.1.2 recommends at most 10 minutes.
const MAX_CODE_LIFETIME_SECS: u64 = 600;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "token.success-response",
        name: "OAuth 2.1 §3.2.3: a code redeems to 200 JSON with access_token and token_type Bearer",
        run: success_response,
    },
    Check {
        id: "token.expires-in",
        name: "OAuth 2.1 §3.2.3: the token response states expires_in (RECOMMENDED)",
        run: expires_in,
    },
    Check {
        id: "token.success-no-store",
        name: "OAuth 2.1 §3.2.3: a token response carries Cache-Control: no-store",
        run: success_no_store,
    },
    Check {
        id: "token.error-no-store",
        name: "OAuth 2.1 §3.2.3: a token error response carries Cache-Control: no-store",
        run: error_no_store,
    },
    Check {
        id: "token.get-rejected",
        name: "OAuth 2.1 §3.2: the token endpoint does not issue tokens to a GET request",
        run: get_rejected,
    },
    Check {
        id: "token.unknown-param-ignored",
        name: "RFC 6749 §3.2: unknown token request parameters are ignored",
        run: unknown_param_ignored,
    },
    Check {
        id: "token.repeated-param-rejected",
        name: "RFC 6749 §3.2: a repeated token request parameter gives invalid_request",
        run: repeated_param_rejected,
    },
    Check {
        id: "token.code-single-use",
        name: "OAuth 2.1 §4.1.3: an authorization code is redeemed once",
        run: code_single_use,
    },
    Check {
        id: "token.code-reuse-revokes-refresh",
        name: "RFC 6749 §4.1.2: redeeming a code twice revokes the refresh token it issued (SHOULD)",
        run: code_reuse_revokes_refresh,
    },
    Check {
        id: "token.code-reuse-revokes-access",
        name: "RFC 6749 §4.1.2: redeeming a code twice revokes the access token it issued (SHOULD)",
        run: code_reuse_revokes_access,
    },
    Check {
        id: "token.code-replay-bad-verifier-keeps-tokens",
        name: "OAuth 2.1 §7.5.2: a replayed code with a wrong verifier does not revoke the grant",
        run: replay_bad_verifier_keeps_tokens,
    },
    Check {
        id: "token.code-bound-to-client",
        name: "OAuth 2.1 §4.1.3: a code issued to one client cannot be redeemed by another",
        run: code_bound_to_client,
    },
    Check {
        id: "token.redirect-uri-mismatch",
        name: "RFC 6749 §4.1.3: a redirect_uri differing from the authorization request gives invalid_grant",
        run: redirect_uri_mismatch,
    },
    Check {
        id: "token.redirect-uri-omitted",
        name: "OAuth 2.1 §4.1.3: a code redeems without redirect_uri",
        run: redirect_uri_omitted,
    },
    Check {
        id: "token.password-grant-rejected",
        name: "RFC 9700 §2.4: the resource owner password grant gives unsupported_grant_type",
        run: password_grant_rejected,
    },
    Check {
        id: "token.unknown-grant-type",
        name: "RFC 6749 §5.2: an unknown grant_type gives unsupported_grant_type",
        run: unknown_grant_type,
    },
    Check {
        id: "token.client-credentials-public-rejected",
        name: "OAuth 2.1 §4.2: a public client cannot use the client_credentials grant",
        run: client_credentials_public_rejected,
    },
    Check {
        id: "token.scope-within-request",
        name: "OAuth 2.1 §3.2.3: the granted scope does not exceed the requested scope",
        run: scope_within_request,
    },
];

/// Runs last, since it waits for a code to expire.
pub(super) const CODE_EXPIRES: Check = Check {
    id: "token.code-expires",
    name: "OAuth 2.1 §4.1.2: an authorization code stops working when its lifetime ends",
    run: code_expires,
};

fn success_response(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    let result = (|| {
        expect_success(&response)?;
        if !response.is_json() {
            return Err(format!(
                "Content-Type is {:?}, not application/json",
                response.header("content-type").unwrap_or_default()
            ));
        }
        let token_type = response.json_str("token_type").unwrap_or_default();
        if !token_type.eq_ignore_ascii_case("bearer") {
            return Err(format!("token_type is {token_type:?}, not Bearer"));
        }
        Ok(())
    })();
    ctx.expect_tokens(response.clone()).ok();
    Ok(ctx.judge(result, &response))
}

fn expires_in(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let tokens = ctx.standard_tokens(&client)?;
    let result = match tokens.body.get("expires_in") {
        Some(Value::Number(n)) if n.as_f64().is_some_and(|v| v > 0.0) => Ok(()),
        Some(other) => Err(format!("expires_in is {other}, not a positive number")),
        None => Err(String::from("the token response has no expires_in")),
    };
    Ok(ctx.judge(result, &tokens.response))
}

fn success_no_store(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let tokens = ctx.standard_tokens(&client)?;
    let result = if tokens.response.has_no_store() {
        Ok(())
    } else {
        Err(String::from(
            "the token response has no Cache-Control: no-store",
        ))
    };
    Ok(ctx.judge(result, &tokens.response))
}

fn error_no_store(ctx: &mut Ctx<'_>) -> Verdict {
    let auth = ctx.main.auth();
    let code = random_string(32);
    let response = ctx.token_request(
        &auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &ctx.main.redirect_uri),
            ("code_verifier", &random_string(32)),
        ],
    )?;
    if response.status < 400 {
        return Ok(ctx.fail(
            format!("an unknown code was answered {}", response.status),
            &response,
        ));
    }
    let result = if response.has_no_store() {
        Ok(())
    } else {
        Err(String::from(
            "the error response has no Cache-Control: no-store",
        ))
    };
    Ok(ctx.judge(result, &response))
}

fn get_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", issued.code.as_str()),
    ];
    if let Some(uri) = &issued.redirect_uri {
        pairs.push(("redirect_uri", uri));
    }
    if let Some(verifier) = &issued.verifier {
        pairs.push(("code_verifier", verifier));
    }
    if client.secret.is_none() {
        pairs.push(("client_id", client.id.as_str()));
    }

    let mut request = HttpRequest::get(format!("{}?{}", ctx.endpoints.token, encode_form(&pairs)));
    // The secret goes in the header, never in a URL.
    if let Some(secret) = &client.secret {
        request = request.header(
            "authorization",
            &format!("Basic {}", basic_credentials(&client.id, secret)),
        );
    }

    let response = ctx.send(request)?;
    let has_token = response
        .json_object()
        .is_some_and(|body| body.contains_key("access_token"));
    let result = if has_token {
        Err(String::from(
            "a GET request was answered with an access token",
        ))
    } else if matches!(response.status, 400 | 405) {
        Ok(())
    } else {
        Err(format!("expected 405 or 400, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

fn unknown_param_ignored(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let response = ctx.redeem(&client.auth(), &issued, &[("foo", "1")])?;
    ctx.expect_tokens(response.clone()).ok();
    Ok(ctx.judge(expect_success(&response), &response))
}

fn repeated_param_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let code = issued.code.clone();
    let response = ctx.redeem(&client.auth(), &issued, &[("code", &code)])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_request"]),
        &response,
    ))
}

fn code_single_use(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let first = ctx.redeem(&client.auth(), &issued, &[])?;
    ctx.expect_tokens(first)?;
    let second = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(expect_error(&second, &[400], &["invalid_grant"]), &second))
}

fn code_reuse_revokes_refresh(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let first = ctx.redeem(&client.auth(), &issued, &[])?;
    let tokens = ctx.expect_tokens(first)?;
    let Some(refresh) = tokens.refresh else {
        return Err(Outcome::skip("the server issued no refresh token"));
    };
    let second = ctx.redeem(&client.auth(), &issued, &[])?;
    if second.status == 200 {
        return Err(Outcome::skip(
            "the code was redeemed a second time, which token.code-single-use reports",
        ));
    }
    let response = ctx.refresh(&client.auth(), &refresh, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn code_reuse_revokes_access(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let first = ctx.redeem(&client.auth(), &issued, &[])?;
    let tokens = ctx.expect_tokens(first)?;
    require_active(ctx, &tokens.access)?;
    let second = ctx.redeem(&client.auth(), &issued, &[])?;
    if second.status == 200 {
        return Err(Outcome::skip(
            "the code was redeemed a second time, which token.code-single-use reports",
        ));
    }
    expect_token_state(
        ctx,
        &tokens.access,
        false,
        "the access token from the first redemption still works after the code was reused",
    )
}

fn replay_bad_verifier_keeps_tokens(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let first = ctx.redeem(&client.auth(), &issued, &[])?;
    let tokens = ctx.expect_tokens(first)?;
    require_active(ctx, &tokens.access)?;
    let mut replay = issued.clone();
    replay.verifier = replay.verifier.as_deref().map(tamper);
    let second = ctx.redeem(&client.auth(), &replay, &[])?;
    if let Err(reason) = expect_error(&second, &[400], &["invalid_grant"]) {
        return Ok(ctx.fail(reason, &second));
    }
    expect_token_state(
        ctx,
        &tokens.access,
        true,
        "a replay with a wrong verifier revoked the access token, which lets anyone \
         holding a stolen code cut off the user",
    )
}

fn code_bound_to_client(ctx: &mut Ctx<'_>) -> Verdict {
    let other = ctx.require_public()?;
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let response = ctx.redeem(&Auth::Id(other.id.clone()), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn redirect_uri_mismatch(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut issued = ctx.standard_code(&client)?;
    let sent = issued
        .redirect_uri
        .clone()
        .unwrap_or_else(|| client.redirect_uri.clone());
    let (head, query) = match sent.find('?') {
        Some(index) => sent.split_at(index),
        None => (sent.as_str(), ""),
    };
    issued.redirect_uri = Some(match head.strip_suffix('/') {
        Some(stripped) => format!("{stripped}{query}"),
        None => format!("{head}/{query}"),
    });
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}

fn redirect_uri_omitted(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut issued = ctx.standard_code(&client)?;
    issued.redirect_uri = None;
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    ctx.expect_tokens(response.clone()).ok();
    Ok(ctx.judge(expect_success(&response), &response))
}

fn password_grant_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let auth = ctx.main.auth();
    let username = ctx.config.username.clone();
    let password = ctx.config.password.expose().to_owned();
    let response = ctx.token_request(
        &auth,
        &[
            ("grant_type", "password"),
            ("username", &username),
            ("password", &password),
        ],
    )?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["unsupported_grant_type"]),
        &response,
    ))
}

fn unknown_grant_type(ctx: &mut Ctx<'_>) -> Verdict {
    let auth = ctx.main.auth();
    let response = ctx.token_request(&auth, &[("grant_type", "urn:x:conformance:bogus")])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["unsupported_grant_type"]),
        &response,
    ))
}

fn client_credentials_public_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let public = ctx.require_public()?;
    let response = ctx.token_request(&public.auth(), &[("grant_type", "client_credentials")])?;
    Ok(ctx.judge(
        expect_error(
            &response,
            &[400, 401],
            &[
                "unauthorized_client",
                "invalid_client",
                "unsupported_grant_type",
            ],
        ),
        &response,
    ))
}

fn scope_within_request(ctx: &mut Ctx<'_>) -> Verdict {
    let Some(requested) = ctx.config.requested_scope().map(str::to_owned) else {
        return Err(Outcome::skip(
            "no scope is requested, so the granted scope has no bound to check",
        ));
    };
    let client = ctx.main.clone();
    let tokens = ctx.standard_tokens(&client)?;
    let Some(granted) = &tokens.scope else {
        // An omitted scope means the requested scope was granted (RFC 6749 §5.1).
        return Ok(Outcome::Pass);
    };
    let extra: Vec<&str> = granted
        .split(' ')
        .filter(|s| !s.is_empty() && !requested.split(' ').any(|r| r == *s))
        .collect();
    let result = if extra.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "granted scopes that were not requested: {}",
            extra.join(" ")
        ))
    };
    Ok(ctx.judge(result, &tokens.response))
}

fn code_expires(ctx: &mut Ctx<'_>) -> Verdict {
    let Some(lifetime) = ctx.config.code_lifetime else {
        return Err(Outcome::skip(
            "depends on the server's code lifetime: pass --code-lifetime SECONDS to wait it out",
        ));
    };
    if lifetime > MAX_CODE_LIFETIME_SECS {
        return Err(Outcome::skip(format!(
            "--code-lifetime {lifetime} is over the {MAX_CODE_LIFETIME_SECS} s the kit waits"
        )));
    }
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    tracing::debug!(
        seconds = lifetime + 1,
        "waiting for the authorization code to expire"
    );
    std::thread::sleep(Duration::from_secs(lifetime + 1));
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_grant"]),
        &response,
    ))
}
