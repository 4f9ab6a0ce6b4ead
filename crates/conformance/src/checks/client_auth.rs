//! Client authentication checks (RFC 6749 §2.3 and §5.2, OAuth 2.1 §2.4 and §3.2).

use serde_json::json;

use super::{Check, expect_error, expect_success};
use crate::context::{Auth, AuthMethod, Client, Ctx, FlowError, Verdict};
use crate::flow::basic_credentials;
use crate::http::{HttpRequest, HttpResponse, RateLimited, encode_form};
use crate::pkce::random_string;
use crate::report::Outcome;

/// Wrong secrets sent by the opt-in brute-force check.
const BRUTE_FORCE_ATTEMPTS: usize = 50;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "client-auth.required-for-code",
        name: "OAuth 2.1 §3.2.1: a confidential client must authenticate to redeem a code",
        run: required_for_code,
    },
    Check {
        id: "client-auth.required-for-refresh",
        name: "OAuth 2.1 §4.3.1: a confidential client must authenticate to refresh",
        run: required_for_refresh,
    },
    Check {
        id: "client-auth.secret-post",
        name: "OAuth 2.1 §2.4.1: client_secret_post authenticates a client",
        run: secret_post,
    },
    Check {
        id: "client-auth.secret-basic",
        name: "RFC 6749 §2.3.1: HTTP Basic authenticates a client",
        run: secret_basic,
    },
    Check {
        id: "client-auth.basic-failure-401",
        name: "RFC 6749 §5.2: failed Basic authentication answers 401 invalid_client with a Basic challenge",
        run: basic_failure_401,
    },
    Check {
        id: "client-auth.wrong-secret",
        name: "RFC 6749 §5.2: a wrong client_secret in the body gives invalid_client",
        run: wrong_secret,
    },
    Check {
        id: "client-auth.unknown-client",
        name: "RFC 6749 §5.2: an unknown client_id gives invalid_client",
        run: unknown_client,
    },
    Check {
        id: "client-auth.single-method",
        name: "OAuth 2.1 §2.4: a request using two authentication methods gives invalid_request",
        run: single_method,
    },
    Check {
        id: "client-auth.no-query-credentials",
        name: "RFC 6749 §2.3.1: client credentials in the request URI are not accepted",
        run: no_query_credentials,
    },
    Check {
        id: "client-auth.public-client-id-required",
        name: "OAuth 2.1 §3.2.2: a public client redeeming a code must send client_id",
        run: public_client_id_required,
    },
];

/// Runs last and only with `--brute-force`, since it may lock the test client out.
pub(super) const BRUTE_FORCE: Check = Check {
    id: "client-auth.brute-force-throttled",
    name: "OAuth 2.1 §2.4.1: repeated wrong client secrets are throttled",
    run: brute_force_throttled,
};

/// Runs after [`BRUTE_FORCE`] and only with `--brute-force`. It locks the test
/// client out itself when that check has not, so it also runs on its own.
pub(super) const LOCKOUT_SPARES_OTHERS: Check = Check {
    id: "client-auth.lockout-spares-other-clients",
    name: "OAuth 2.1 §2.4.1: a client locked out after wrong secrets does not lock out other clients",
    run: lockout_spares_other_clients,
};

fn required_for_code(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    let issued = ctx.standard_code(&client)?;
    let response = ctx.redeem(&Auth::Id(client.id.clone()), &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400, 401], &["invalid_client"]),
        &response,
    ))
}

fn required_for_refresh(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    let (_, refresh) = ctx.tokens_with_refresh(&client)?;
    let response = ctx.refresh(&Auth::Id(client.id.clone()), &refresh, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400, 401], &["invalid_client"]),
        &response,
    ))
}

fn secret_post(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    let secret = client.secret.clone().unwrap_or_default();
    let issued = ctx.standard_code(&client)?;
    let auth = Auth::Post {
        id: client.id.clone(),
        secret,
    };
    let response = ctx.redeem(&auth, &issued, &[])?;
    ctx.expect_tokens(response.clone()).ok();
    Ok(ctx.judge(expect_success(&response), &response))
}

/// Skips when the metadata lists authentication methods without `client_secret_basic`.
fn require_basic_listed(ctx: &Ctx<'_>) -> Result<(), Outcome> {
    match ctx.metadata.list("token_endpoint_auth_methods_supported") {
        Some(methods) if !methods.contains(&"client_secret_basic") => Err(Outcome::skip(
            "the metadata lists token_endpoint_auth_methods_supported without \
             client_secret_basic, which OAuth 2.1 allows",
        )),
        _ => Ok(()),
    }
}

fn secret_basic(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    require_basic_listed(ctx)?;
    let issued = ctx.standard_code(&client)?;
    let auth = Auth::Basic {
        id: client.id.clone(),
        secret: client.secret.clone().unwrap_or_default(),
    };
    let response = ctx.redeem(&auth, &issued, &[])?;
    ctx.expect_tokens(response.clone()).ok();
    Ok(ctx.judge(expect_success(&response), &response))
}

fn basic_failure_401(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    require_basic_listed(ctx)?;
    let issued = ctx.standard_code(&client)?;
    let auth = Auth::Basic {
        id: client.id.clone(),
        secret: format!("wrong-{}", random_string(12)),
    };
    let response = ctx.redeem(&auth, &issued, &[])?;
    let result = expect_error(&response, &[401], &["invalid_client"]).and_then(|()| {
        let challenge = response.header("www-authenticate").unwrap_or_default();
        let scheme = challenge.split_whitespace().next().unwrap_or_default();
        if scheme.eq_ignore_ascii_case("basic") {
            Ok(())
        } else {
            Err(format!(
                "expected a WWW-Authenticate: Basic challenge, got {challenge:?}"
            ))
        }
    });
    Ok(ctx.judge(result, &response))
}

fn wrong_secret(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    let issued = ctx.standard_code(&client)?;
    let auth = Auth::Post {
        id: client.id.clone(),
        secret: format!("wrong-{}", random_string(12)),
    };
    let response = ctx.redeem(&auth, &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400, 401], &["invalid_client"]),
        &response,
    ))
}

fn unknown_client(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let issued = ctx.standard_code(&client)?;
    let auth = Auth::Post {
        id: format!("conformance-unknown-{}", random_string(8)),
        secret: random_string(16),
    };
    let response = ctx.redeem(&auth, &issued, &[])?;
    Ok(ctx.judge(
        expect_error(&response, &[400, 401], &["invalid_client"]),
        &response,
    ))
}

fn single_method(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    let secret = client.secret.clone().unwrap_or_default();
    let issued = ctx.standard_code(&client)?;
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", issued.code.as_str()),
        ("client_id", client.id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    if let Some(uri) = &issued.redirect_uri {
        pairs.push(("redirect_uri", uri));
    }
    if let Some(verifier) = &issued.verifier {
        pairs.push(("code_verifier", verifier));
    }
    let request = HttpRequest::post_form(ctx.endpoints.token.clone(), &pairs).header(
        "authorization",
        &format!("Basic {}", basic_credentials(&client.id, &secret)),
    );
    let response = ctx.send(request)?;
    Ok(ctx.judge(
        expect_error(&response, &[400], &["invalid_request"]),
        &response,
    ))
}

fn no_query_credentials(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.require_secret()?;
    let secret = client.secret.clone().unwrap_or_default();
    let issued = ctx.standard_code(&client)?;
    let query = encode_form(&[("client_id", &client.id), ("client_secret", &secret)]);
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
    let endpoint = &ctx.endpoints.token;
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    let request = HttpRequest::post_form(format!("{endpoint}{separator}{query}"), &pairs);
    let response = ctx.send(request)?;
    Ok(ctx.judge(
        expect_error(
            &response,
            &[400, 401],
            &["invalid_client", "invalid_request"],
        ),
        &response,
    ))
}

fn public_client_id_required(ctx: &mut Ctx<'_>) -> Verdict {
    let public = ctx.require_public()?;
    let issued = ctx.standard_code(&public)?;
    let response = ctx.redeem(&Auth::Nothing, &issued, &[])?;
    Ok(ctx.judge(
        expect_error(
            &response,
            &[400, 401],
            &["invalid_request", "invalid_client"],
        ),
        &response,
    ))
}

/// A token request for `client` that is complete apart from the client
/// secret, with a made-up code. A server may check the grant parameters
/// before it authenticates the client, so a request that lacks one would
/// never test a secret.
struct MadeUpRedemption {
    code: String,
    verifier: String,
    redirect_uri: String,
}

impl MadeUpRedemption {
    fn new(client: &Client) -> Self {
        Self {
            code: random_string(32),
            verifier: random_string(32),
            redirect_uri: client.redirect_uri.clone(),
        }
    }

    fn params(&self) -> [(&str, &str); 4] {
        [
            ("grant_type", "authorization_code"),
            ("code", self.code.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", self.verifier.as_str()),
        ]
    }
}

/// Sends up to [`BRUTE_FORCE_ATTEMPTS`] wrong secrets for `client` and stops
/// at the first 429. Returns whether a 429 came, and the last response.
fn send_wrong_secrets(
    ctx: &Ctx<'_>,
    client: &Client,
    redemption: &MadeUpRedemption,
) -> Result<(bool, HttpResponse), FlowError> {
    let mut last = None;
    for _ in 0..BRUTE_FORCE_ATTEMPTS {
        let auth = Auth::Post {
            id: client.id.clone(),
            secret: format!("wrong-{}", random_string(12)),
        };
        let response = ctx.token_request(&auth, &redemption.params())?;
        if response.status == 429 {
            return Ok((true, response));
        }
        last = Some(response);
    }
    last.map(|response| (false, response))
        .ok_or_else(|| FlowError::new("no wrong secret was sent"))
}

/// Sends the right secret of `client` and returns whether the server rejects
/// it with 429 or `invalid_client`, which shows a lockout. A server may
/// respond either way, because it need not tell a locked-out client why.
fn is_locked_out(
    ctx: &Ctx<'_>,
    client: &Client,
    redemption: &MadeUpRedemption,
) -> Result<(bool, HttpResponse), FlowError> {
    let response = ctx.token_request(&client.auth(), &redemption.params())?;
    let locked =
        response.status == 429 || response.json_str("error").as_deref() == Some("invalid_client");
    Ok((locked, response))
}

fn brute_force_throttled(ctx: &mut Ctx<'_>) -> Verdict {
    if !ctx.config.brute_force {
        return Err(Outcome::skip(
            "sends 50 wrong secrets and may lock the test client out: pass --brute-force to run it",
        ));
    }
    let client = ctx.require_secret()?;
    let redemption = MadeUpRedemption::new(&client);
    let (throttled, last) = send_wrong_secrets(ctx, &client, &redemption)?;
    if throttled {
        return Ok(Outcome::Pass);
    }
    // No 429: a temporary lockout also counts, seen as the right secret being refused.
    let (locked, _) = is_locked_out(ctx, &client, &redemption)?;
    if locked {
        return Ok(Outcome::Pass);
    }
    let reason = format!(
        "{BRUTE_FORCE_ATTEMPTS} wrong secrets in a row got no 429, and the right secret still works"
    );
    Ok(ctx.fail(reason, &last))
}

fn lockout_spares_other_clients(ctx: &mut Ctx<'_>) -> Verdict {
    if !ctx.config.brute_force {
        return Err(Outcome::skip(
            "locks the test client out first with 50 wrong secrets: pass --brute-force to run it",
        ));
    }
    let client = ctx.require_secret()?;
    // The other client is found before the lockout, because a server may
    // throttle registration too.
    let other = other_client(ctx, &client)?;
    let redemption = MadeUpRedemption::new(&client);
    let (mut locked, _) = is_locked_out(ctx, &client, &redemption)?;
    if !locked {
        let (throttled, _) = send_wrong_secrets(ctx, &client, &redemption)?;
        locked = throttled || is_locked_out(ctx, &client, &redemption)?.0;
    }
    if !locked {
        return Err(Outcome::skip(format!(
            "the server did not lock client {} out after {BRUTE_FORCE_ATTEMPTS} wrong secrets, \
             so there is no lockout to test",
            client.id
        )));
    }

    let issued = ctx.standard_code(&other)?;
    let response = ctx.redeem(&other.auth(), &issued, &[])?;
    if let Some(limited) = RateLimited::of(&response) {
        let retry_after = limited.retry_after.as_deref().unwrap_or("none");
        return Ok(ctx.fail(
            format!(
                "while client {} was locked out, client {} got 429 (Retry-After {retry_after}), \
                 so the lockout denies service to other clients",
                client.id, other.id
            ),
            &response,
        ));
    }
    ctx.expect_tokens(response.clone()).ok();
    let result = expect_success(&response).map_err(|reason| {
        format!(
            "while client {} was locked out, redeeming a code for client {} failed: {reason}",
            client.id, other.id
        )
    });
    Ok(ctx.judge(result, &response))
}

/// Returns a client other than `main` that can redeem codes: a confidential
/// client registered for this check, whose secret the server verifies, or
/// else the public client.
fn other_client(ctx: &mut Ctx<'_>, main: &Client) -> Result<Client, Outcome> {
    if let Some(client) = register_confidential_client(ctx) {
        return Ok(client);
    }
    let public = ctx.require_public()?;
    if public.id == main.id {
        return Err(Outcome::skip(
            "needs a second client: the public client is the configured one",
        ));
    }
    Ok(public)
}

/// Registers a `client_secret_post` client with the configured redirect URI
/// and scope. Returns `None` when the server offers no registration or does
/// not issue such a client.
fn register_confidential_client(ctx: &mut Ctx<'_>) -> Option<Client> {
    let endpoint = ctx.endpoints.registration.clone()?;
    let redirect_uri = ctx
        .config
        .public_redirect_uri
        .clone()
        .unwrap_or_else(|| ctx.config.redirect_uri.clone());
    let mut body = json!({
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "portcullis-conformance second client",
    });
    if let Some(scope) = ctx.config.requested_scope() {
        body["scope"] = json!(scope);
    }
    let response = ctx.send(HttpRequest::post_json(endpoint, &body)).ok()?;
    let secret = response.json_str("client_secret");
    if let Some(secret) = &secret {
        ctx.masker.add(secret);
    }
    match (response.status, response.json_str("client_id"), secret) {
        (200 | 201, Some(id), Some(secret)) => Some(Client {
            id,
            secret: Some(secret),
            redirect_uri,
            method: AuthMethod::Post,
        }),
        _ => {
            tracing::debug!(
                status = response.status,
                "registering a second confidential client failed; using the public client"
            );
            None
        }
    }
}
