//! Dynamic client registration checks (RFC 7591, with the redirect URI rules
//! of OAuth 2.1 §2.3.1 and RFC 8252).

use serde_json::{Value, json};

use super::Check;
use crate::context::{AuthMethod, Client, Ctx, Verdict};
use crate::flow::{AuthzTrace, Decision, Landing};
use crate::html;
use crate::http::{HttpRequest, HttpResponse};
use crate::pkce::random_string;
use crate::report::Outcome;

/// Most registrations `register.rate-limited` sends, so a wrong
/// `--registration-limit` cannot flood a server.
const MAX_REGISTRATION_LIMIT: u32 = 59;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "register.open-registration",
        name: "RFC 7591 §3.2.1: a valid registration answers 201 with a client_id",
        run: open_registration,
    },
    Check {
        id: "register.echoes-metadata",
        name: "RFC 7591 §3.2.1: the registration response returns the registered metadata",
        run: echoes_metadata,
    },
    Check {
        id: "register.public-no-secret",
        name: "RFC 7591 §3.2.1: a client registered with auth method none gets no client_secret",
        run: public_no_secret,
    },
    Check {
        id: "register.secret-expiry",
        name: "RFC 7591 §3.2.1: an issued client_secret comes with client_secret_expires_at",
        run: secret_expiry,
    },
    Check {
        id: "register.no-store",
        name: "OAuth 2.1 §3.2.3: a registration response carrying a secret has Cache-Control: no-store",
        run: no_store,
    },
    Check {
        id: "register.unreserved-credentials",
        name: "OAuth 2.1 §2.4.1: issued client_id and client_secret use only unreserved characters",
        run: unreserved_credentials,
    },
    Check {
        id: "register.unknown-fields-ignored",
        name: "RFC 7591 §2: unknown client metadata fields are ignored",
        run: unknown_fields_ignored,
    },
    Check {
        id: "register.http-redirect-rejected",
        name: "RFC 7591 §3.2.2: a plain-http redirect URI off loopback gives invalid_redirect_uri",
        run: http_redirect_rejected,
    },
    Check {
        id: "register.fragment-redirect-rejected",
        name: "RFC 7591 §3.2.2: a redirect URI with a fragment gives invalid_redirect_uri",
        run: fragment_redirect_rejected,
    },
    Check {
        id: "register.private-scheme-needs-dot",
        name: "RFC 8252 §7.1: a private-use scheme that is not reverse-domain is rejected (SHOULD)",
        run: private_scheme_needs_dot,
    },
    Check {
        id: "register.native-redirects-accepted",
        name: "RFC 8252 §7.3: loopback, localhost and reverse-domain redirect URIs register",
        run: native_redirects_accepted,
    },
    Check {
        id: "register.implicit-rejected",
        name: "RFC 7591 §3.2.2: registering the implicit grant gives invalid_client_metadata",
        run: implicit_rejected,
    },
    Check {
        id: "register.invalid-json",
        name: "RFC 7591 §3.2.2: a body that is not JSON gives 400",
        run: invalid_json,
    },
    Check {
        id: "register.consent-shows-redirect-host",
        name: "MCP 2025-11-25 \"Localhost Redirect URI Risks\": the consent page shows the redirect URI host of a registered client",
        run: consent_shows_redirect_host,
    },
    Check {
        id: "register.consent-unverified-marker",
        name: "OAuth 2.1 §7.9: the consent page marks a dynamically registered client as unverified (SHOULD)",
        run: consent_unverified_marker,
    },
];

/// Sends registrations up to one past `--registration-limit`. It runs last,
/// since the server then refuses registrations for the rest of its window.
pub(super) const RATE_LIMITED: Check = Check {
    id: "register.rate-limited",
    name: "OAuth 2.1 §7.9: registrations beyond the server's stated limit get 429 Too Many Requests",
    run: rate_limited,
};

/// Returns a valid registration body for a public client with one redirect URI.
fn public_body(redirect_uri: &str) -> Value {
    json!({
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "portcullis-conformance",
    })
}

/// Returns a valid registration body for a confidential client.
fn confidential_body() -> Value {
    let mut body = public_body("http://127.0.0.1/cb");
    body["token_endpoint_auth_method"] = json!("client_secret_post");
    body
}

/// Sends a registration request and adds any secret in the response to the masker.
fn register(ctx: &mut Ctx<'_>, body: &Value) -> Result<HttpResponse, Outcome> {
    let endpoint = ctx.require_endpoint(ctx.endpoints.registration.as_ref(), "registration")?;
    let response = ctx.send(HttpRequest::post_json(endpoint, body))?;
    for name in ["client_secret", "registration_access_token"] {
        if let Some(secret) = response.json_str(name) {
            ctx.masker.add(&secret);
        }
    }
    Ok(response)
}

/// Checks for 201 with a `client_id`.
fn expect_created(response: &HttpResponse) -> Result<(), String> {
    match (response.status, response.json_str("client_id")) {
        (201, Some(_)) => Ok(()),
        _ => Err(format!(
            "expected 201 with a client_id, got {}",
            response.summary()
        )),
    }
}

/// Registers `body` and expects 400 with error `code`.
fn expect_rejected(ctx: &mut Ctx<'_>, body: &Value, code: &str) -> Verdict {
    let response = register(ctx, body)?;
    Ok(ctx.judge(super::expect_error(&response, &[400], &[code]), &response))
}

/// Registers a confidential client and returns the response. Ends the check
/// when the response is not 201 with a secret.
fn register_confidential(ctx: &mut Ctx<'_>) -> Result<HttpResponse, Outcome> {
    let response = register(ctx, &confidential_body())?;
    if let Err(reason) = expect_created(&response) {
        return Err(Outcome::skip(format!(
            "registering a client_secret_post client failed: {reason}"
        )));
    }
    if response.json_str("client_secret").is_none() {
        return Err(ctx.fail(
            "a client_secret_post client got no client_secret",
            &response,
        ));
    }
    Ok(response)
}

fn open_registration(ctx: &mut Ctx<'_>) -> Verdict {
    let response = register(ctx, &public_body("http://127.0.0.1/cb"))?;
    Ok(ctx.judge(expect_created(&response), &response))
}

fn echoes_metadata(ctx: &mut Ctx<'_>) -> Verdict {
    let response = register(ctx, &public_body("http://127.0.0.1/cb"))?;
    if expect_created(&response).is_err() {
        return Err(Outcome::skip(format!(
            "registration failed: {}",
            response.summary()
        )));
    }
    let body = response.json_object().unwrap_or_default();
    let missing: Vec<&str> = [
        "redirect_uris",
        "token_endpoint_auth_method",
        "grant_types",
        "response_types",
        "client_name",
    ]
    .into_iter()
    .filter(|name| !body.contains_key(*name))
    .collect();
    let result = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("the response leaves out {}", missing.join(", ")))
    };
    Ok(ctx.judge(result, &response))
}

fn public_no_secret(ctx: &mut Ctx<'_>) -> Verdict {
    let response = register(ctx, &public_body("http://127.0.0.1/cb"))?;
    if expect_created(&response).is_err() {
        return Err(Outcome::skip(format!(
            "registration failed: {}",
            response.summary()
        )));
    }
    let result = if response.json_str("client_secret").is_some() {
        Err(String::from(
            "a client registered with auth method none got a client_secret",
        ))
    } else {
        Ok(())
    };
    Ok(ctx.judge(result, &response))
}

fn secret_expiry(ctx: &mut Ctx<'_>) -> Verdict {
    let response = register_confidential(ctx)?;
    let body = response.json_object().unwrap_or_default();
    let result = match body.get("client_secret_expires_at") {
        Some(Value::Number(_)) => Ok(()),
        Some(other) => Err(format!("client_secret_expires_at is {other}, not a number")),
        None => Err(String::from("the response has no client_secret_expires_at")),
    };
    Ok(ctx.judge(result, &response))
}

fn no_store(ctx: &mut Ctx<'_>) -> Verdict {
    let response = register_confidential(ctx)?;
    let result = if response.has_no_store() {
        Ok(())
    } else {
        Err(String::from("the response has no Cache-Control: no-store"))
    };
    Ok(ctx.judge(result, &response))
}

fn unreserved_credentials(ctx: &mut Ctx<'_>) -> Verdict {
    let response = register_confidential(ctx)?;
    let unreserved = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    };
    let mut bad = Vec::new();
    for name in ["client_id", "client_secret"] {
        if !response.json_str(name).is_some_and(|v| unreserved(&v)) {
            bad.push(name);
        }
    }
    let result = if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} has characters outside [A-Za-z0-9._~-]",
            bad.join(" and ")
        ))
    };
    Ok(ctx.judge(result, &response))
}

fn unknown_fields_ignored(ctx: &mut Ctx<'_>) -> Verdict {
    let mut body = public_body("http://127.0.0.1/cb");
    body["application_type"] = json!("native");
    body["x_conformance_field"] = json!(1);
    let response = register(ctx, &body)?;
    Ok(ctx.judge(expect_created(&response), &response))
}

fn http_redirect_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    expect_rejected(
        ctx,
        &public_body("http://evil.example/cb"),
        "invalid_redirect_uri",
    )
}

fn fragment_redirect_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    expect_rejected(
        ctx,
        &public_body("https://app.example/cb#x"),
        "invalid_redirect_uri",
    )
}

fn private_scheme_needs_dot(ctx: &mut Ctx<'_>) -> Verdict {
    expect_rejected(ctx, &public_body("myapp:/cb"), "invalid_redirect_uri")
}

fn native_redirects_accepted(ctx: &mut Ctx<'_>) -> Verdict {
    for uri in [
        "http://127.0.0.1/cb",
        "http://localhost/cb",
        "com.example.app:/cb",
        "https://app.example/cb",
    ] {
        let response = register(ctx, &public_body(uri))?;
        if let Err(reason) = expect_created(&response) {
            return Ok(ctx.fail(format!("redirect URI {uri}: {reason}"), &response));
        }
    }
    Ok(Outcome::Pass)
}

fn implicit_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let mut body = public_body("http://127.0.0.1/cb");
    body["grant_types"] = json!(["implicit"]);
    body["response_types"] = json!(["token"]);
    expect_rejected(ctx, &body, "invalid_client_metadata")
}

fn invalid_json(ctx: &mut Ctx<'_>) -> Verdict {
    let endpoint = ctx.require_endpoint(ctx.endpoints.registration.as_ref(), "registration")?;
    let request = HttpRequest::new("POST", endpoint)
        .header("content-type", "application/json")
        .body(b"{\"redirect_uris\": [".to_vec());
    let response = ctx.send(request)?;
    let result = if response.status == 400 {
        Ok(())
    } else {
        Err(format!("expected 400, got {}", response.summary()))
    };
    Ok(ctx.judge(result, &response))
}

/// Registers a public client whose redirect URI has a host made up for this
/// run, opens its consent page after signing in, and returns the page and
/// that host. The kit never requests the redirect URI.
fn consent_page_of_new_client(ctx: &mut Ctx<'_>) -> Result<(AuthzTrace, String), Outcome> {
    let label: String = random_string(12)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let host = format!("consent-{}.example", label.to_ascii_lowercase());
    let redirect_uri = format!("https://{host}/cb");
    let mut body = public_body(&redirect_uri);
    if let Some(scope) = ctx.config.requested_scope() {
        body["scope"] = json!(scope);
    }

    let response = register(ctx, &body)?;
    let Some(id) = response
        .json_str("client_id")
        .filter(|_| response.status == 201)
    else {
        return Err(Outcome::skip(format!(
            "registering a client with redirect URI {redirect_uri} failed: {}",
            response.summary()
        )));
    };
    let client = Client {
        id,
        secret: None,
        redirect_uri,
        method: AuthMethod::None,
    };

    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::SignIn)?;
    let has_decision = html::find_forms(&trace.last.text())
        .iter()
        .any(|form| form.has_control(&ctx.config.decision_field));
    if !matches!(trace.landing, Landing::Page) || !has_decision {
        return Err(Outcome::skip(format!(
            "no consent page was shown for client {}: the request ended with {}",
            client.id,
            trace.describe()
        )));
    }
    Ok((trace, host))
}

fn consent_shows_redirect_host(ctx: &mut Ctx<'_>) -> Verdict {
    let (trace, host) = consent_page_of_new_client(ctx)?;
    let text = html::visible_text(&trace.last.text()).to_ascii_lowercase();
    let result = if text.contains(&host) {
        Ok(())
    } else {
        Err(format!(
            "the consent page text does not show the redirect URI host {host}"
        ))
    };
    Ok(ctx.judge(result, &trace.last))
}

fn consent_unverified_marker(ctx: &mut Ctx<'_>) -> Verdict {
    let Some(marker) = ctx.config.unverified_marker_id.clone() else {
        return Err(Outcome::skip(
            "pages differ in how they mark an unverified client: pass --unverified-marker-id \
             with the id of the element that does",
        ));
    };
    let (trace, _) = consent_page_of_new_client(ctx)?;
    let result = if html::has_element_with_id(&trace.last.text(), &marker) {
        Ok(())
    } else {
        Err(format!(
            "the consent page for a dynamically registered client has no element with id {marker:?}"
        ))
    };
    Ok(ctx.judge(result, &trace.last))
}

fn rate_limited(ctx: &mut Ctx<'_>) -> Verdict {
    let Some(limit) = ctx.config.registration_limit else {
        return Err(Outcome::skip(
            "depends on the server's policy: pass --registration-limit N with the number of \
             registrations it allows per source address and window",
        ));
    };
    if limit > MAX_REGISTRATION_LIMIT {
        return Err(Outcome::skip(format!(
            "--registration-limit {limit} is above {MAX_REGISTRATION_LIMIT}, the most \
             registrations this check sends"
        )));
    }
    let body = public_body("http://127.0.0.1/cb");
    let attempts = limit + 1;
    let mut last = None;
    for attempt in 1..=attempts {
        let response = register(ctx, &body)?;
        match response.status {
            429 => {
                tracing::debug!(attempt, "registration rate limit reached");
                return Ok(Outcome::Pass);
            }
            200 | 201 => last = Some(response),
            _ => {
                return Ok(ctx.fail(
                    format!(
                        "registration {attempt} got {}, expected 201 or 429",
                        response.summary()
                    ),
                    &response,
                ));
            }
        }
    }
    let reason = format!(
        "all {attempts} registrations were accepted, expected 429 by registration {attempts}"
    );
    match last {
        Some(response) => Ok(ctx.fail(reason, &response)),
        None => Ok(Outcome::fail(reason)),
    }
}
