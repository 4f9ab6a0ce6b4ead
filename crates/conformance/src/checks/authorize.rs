//! Authorization endpoint checks (RFC 6749 §3.1 and §4.1, OAuth 2.1 §4.1,
//! RFC 8252 §7.3, RFC 9207).

use url::Url;

use super::Check;
use crate::context::{Ctx, Verdict};
use crate::flow::{AuthzTrace, Decision, Landing};
use crate::html;
use crate::http::{CookieJar, HttpRequest, is_loopback_host};
use crate::pkce::random_string;
use crate::report::Outcome;

pub(super) const CHECKS: &[Check] = &[
    Check {
        id: "authorize.code-issued",
        name: "RFC 6749 §4.1.2: approval redirects to the redirect URI with a code in the query",
        run: code_issued,
    },
    Check {
        id: "authorize.login-before-redirect",
        name: "OAuth 2.1 §4.1.2.1: the user is authenticated before any redirect to the client",
        run: login_before_redirect,
    },
    Check {
        id: "authorize.ignores-unknown-params",
        name: "RFC 6749 §3.1: unknown authorization request parameters are ignored",
        run: ignores_unknown_params,
    },
    Check {
        id: "authorize.state-echoed",
        name: "RFC 6749 §4.1.2: state is returned unchanged",
        run: state_echoed,
    },
    Check {
        id: "authorize.state-not-utf8",
        name: "RFC 6749 §4.1.2: a state that is not UTF-8 is returned byte for byte or rejected with invalid_request, never rewritten",
        run: state_not_utf8,
    },
    Check {
        id: "authorize.state-absent",
        name: "RFC 6749 §4.1.2: no state is returned when none was sent",
        run: state_absent,
    },
    Check {
        id: "authorize.empty-state-absent",
        name: "OAuth 2.1 §3.1: an empty state counts as absent and is not returned",
        run: empty_state_absent,
    },
    Check {
        id: "authorize.redirect-query-kept",
        name: "RFC 6749 §3.1.2: the query of the redirect URI is kept",
        run: redirect_query_kept,
    },
    Check {
        id: "authorize.repeated-scope-rejected",
        name: "RFC 6749 §3.1: a repeated scope parameter gives invalid_request",
        run: repeated_scope_rejected,
    },
    Check {
        id: "authorize.repeated-client-id-error-page",
        name: "RFC 6749 §3.1: a repeated client_id gives an error page, not a redirect",
        run: repeated_client_id,
    },
    Check {
        id: "authorize.repeated-redirect-uri-error-page",
        name: "RFC 6749 §3.1: a repeated redirect_uri gives an error page, not a redirect",
        run: repeated_redirect_uri,
    },
    Check {
        id: "authorize.no-cors",
        name: "OAuth 2.1 §3.1: the authorization endpoint does not offer CORS",
        run: no_cors,
    },
    Check {
        id: "authorize.missing-response-type",
        name: "OAuth 2.1 §4.1.2.1: a missing response_type gives invalid_request",
        run: missing_response_type,
    },
    Check {
        id: "authorize.unsupported-response-type",
        name: "RFC 6749 §4.1.2.1: response_type=token gives unsupported_response_type and no token",
        run: unsupported_response_type,
    },
    Check {
        id: "authorize.redirect-uri-trailing-slash",
        name: "OAuth 2.1 §4.1.1: a redirect URI with an added trailing slash is rejected",
        run: redirect_trailing_slash,
    },
    Check {
        id: "authorize.redirect-uri-host-case",
        name: "OAuth 2.1 §4.1.1: redirect URIs compare as exact strings, host case included",
        run: redirect_host_case,
    },
    Check {
        id: "authorize.redirect-uri-extra-query",
        name: "OAuth 2.1 §4.1.1: a redirect URI with an added query is rejected",
        run: redirect_extra_query,
    },
    Check {
        id: "authorize.redirect-uri-fragment",
        name: "RFC 6749 §3.1.2: a redirect URI with a fragment is rejected",
        run: redirect_fragment,
    },
    Check {
        id: "authorize.redirect-uri-path-suffix",
        name: "RFC 9700 §4.1.3: a redirect URI that only starts with a registered one is rejected",
        run: redirect_path_suffix,
    },
    Check {
        id: "authorize.loopback-any-port",
        name: "RFC 8252 §7.3: a loopback redirect URI is accepted on any port",
        run: loopback_any_port,
    },
    Check {
        id: "authorize.loopback-host-exact",
        name: "RFC 8252 §7.3: a loopback redirect URI must keep its host (IP literal or localhost)",
        run: loopback_host_exact,
    },
    Check {
        id: "authorize.loopback-port-out-of-range",
        name: "RFC 8252 §7.3: a loopback redirect URI with a port above 65535 gives an error page before sign-in",
        run: loopback_port_out_of_range,
    },
    Check {
        id: "authorize.unknown-client-error-page",
        name: "RFC 6749 §4.1.2.1: an unknown client_id gives an error page, not a redirect",
        run: unknown_client,
    },
    Check {
        id: "authorize.unregistered-redirect-error-page",
        name: "RFC 6749 §4.1.2.1: an unregistered redirect URI gives an error page that does not lead there",
        run: unregistered_redirect,
    },
    Check {
        id: "authorize.redirect-uri-optional",
        name: "OAuth 2.1 §2.3.2: redirect_uri may be left out when one redirect URI is registered",
        run: redirect_uri_optional,
    },
    Check {
        id: "authorize.deny-access-denied",
        name: "RFC 6749 §4.1.2.1: denying consent redirects with error=access_denied and the state",
        run: deny_access_denied,
    },
    Check {
        id: "authorize.unknown-scope",
        name: "RFC 6749 §4.1.2.1: an unknown scope gives invalid_scope or is left out of the grant",
        run: unknown_scope,
    },
    Check {
        id: "authorize.form-post-303",
        name: "OAuth 2.1 §7.5.3: the consent form answers with 303 (302 tolerated), never 307",
        run: form_post_303,
    },
    Check {
        id: "authorize.frame-protection",
        name: "RFC 9700 §4.16: the login and consent page cannot be framed by other sites",
        run: frame_protection,
    },
    Check {
        id: "authorize.iss-on-success",
        name: "RFC 9207 §2: a successful authorization response carries iss equal to the issuer",
        run: iss_on_success,
    },
    Check {
        id: "authorize.consent-per-client",
        name: "MCP 2025-11-25 \"Confused Deputy Problem\": approving one client does not approve another in the same session",
        run: consent_per_client,
    },
    Check {
        id: "authorize.iss-on-error",
        name: "RFC 9207 §2: an error authorization response carries iss equal to the issuer",
        run: iss_on_error,
    },
];

fn code_issued(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = match ctx.authorize(&request, Decision::Approve) {
        Ok(trace) => trace,
        Err(error) => return Ok(ctx.fail_flow(&error)),
    };
    if trace.param("code").is_some() {
        return Ok(Outcome::Pass);
    }
    if let Landing::Client { fragment, .. } = &trace.landing {
        if fragment.iter().any(|(n, _)| n == "code") {
            return Ok(ctx.fail("the code came in the fragment, not the query", &trace.last));
        }
    }
    Ok(ctx.fail(
        format!(
            "expected a redirect to the client with a code, got {}",
            trace.describe()
        ),
        &trace.last,
    ))
}

fn login_before_redirect(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::Look)?;
    match trace.landing {
        Landing::Page if (200..300).contains(&trace.last.status) || trace.last.status == 401 => {
            Ok(Outcome::Pass)
        }
        _ => Ok(ctx.fail(
            format!(
                "expected a login page for a new browser session, got {}",
                trace.describe()
            ),
            &trace.last,
        )),
    }
}

/// Runs a variant of the standard request with approval and passes when a code comes back.
fn expect_code(ctx: &mut Ctx<'_>, change: impl FnOnce(&mut crate::flow::AuthzRequest)) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    change(&mut request);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.param("code").is_some() {
        Ok(Outcome::Pass)
    } else {
        Ok(ctx.fail(
            format!(
                "expected a redirect to the client with a code, got {}",
                trace.describe()
            ),
            &trace.last,
        ))
    }
}

/// Runs a variant of the standard request with approval and expects an error page.
fn expect_error_page(
    ctx: &mut Ctx<'_>,
    change: impl FnOnce(&mut crate::flow::AuthzRequest),
) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    change(&mut request);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    Ok(ctx.judge(trace.expect_error_page(), &trace.last))
}

/// Runs a variant of the standard request with approval and expects a redirect
/// to the client with `error=code` and the state sent.
pub(super) fn expect_redirect_error(
    ctx: &mut Ctx<'_>,
    code: &str,
    change: impl FnOnce(&mut crate::flow::AuthzRequest),
) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    change(&mut request);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    Ok(ctx.judge(trace.expect_redirect_error(code), &trace.last))
}

fn ignores_unknown_params(ctx: &mut Ctx<'_>) -> Verdict {
    expect_code(ctx, |request| {
        request.push("foo", "bar").push("prompt", "consent");
    })
}

fn state_echoed(ctx: &mut Ctx<'_>) -> Verdict {
    const STATE: &str = "a b+c/~";
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("state", STATE);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.param("code").is_none() {
        return Err(crate::context::FlowError::new(format!(
            "no code came back: the flow ended with {}",
            trace.describe()
        ))
        .into());
    }
    let result = match (trace.param("state"), trace.param_count("state")) {
        (Some(STATE), 1) => Ok(()),
        (Some(state), 1) => Err(format!("sent state {STATE:?}, got {state:?}")),
        (_, 0) => Err(String::from("the redirect carries no state")),
        (_, count) => Err(format!("the redirect carries state {count} times")),
    };
    Ok(ctx.judge(result, &trace.last))
}

/// The `state` that `authorize.state-not-utf8` sends: two bytes that are not UTF-8.
const NON_UTF8_STATE: [u8; 2] = [0xFF, 0xFE];
/// [`NON_UTF8_STATE`] percent-encoded, as it travels in the query.
const NON_UTF8_STATE_ENCODED: &str = "%FF%FE";

fn state_not_utf8(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.remove("state");
    request
        .encoded_params
        .push(format!("state={NON_UTF8_STATE_ENCODED}"));
    let trace = ctx.authorize(&request, Decision::Approve)?;

    if !matches!(trace.landing, Landing::Client { .. }) {
        // A server that cannot decode the query may not trust its redirect_uri
        // either, so an error page is a rejection too.
        let result = trace.expect_error_page().map_err(|_| {
            format!(
                "expected a redirect to the client with a code or error=invalid_request, \
                 or an error page, got {}",
                trace.describe()
            )
        });
        return Ok(ctx.judge(result, &trace.last));
    }
    // The landing's parameters are decoded as UTF-8 with replacement, so the
    // bytes are read from the Location header as sent.
    let location = trace.last.header("location").unwrap_or_default();
    let states = raw_query_values(location, "state");
    let rewritten = states
        .iter()
        .find(|value| value.as_slice() != NON_UTF8_STATE);

    let result = match (trace.param("error"), trace.param("code")) {
        (Some("invalid_request"), _) => match rewritten {
            None => Ok(()),
            Some(value) => Err(format!(
                "the invalid_request redirect carries state bytes [{}], not the bytes sent [{}]",
                hex_bytes(value),
                hex_bytes(&NON_UTF8_STATE)
            )),
        },
        (Some(error), _) => Err(format!(
            "expected a code with the state sent, or error=invalid_request, got error={error}"
        )),
        (None, Some(_)) => match (states.len(), rewritten) {
            (1, None) => Ok(()),
            (0, _) => Err(String::from(
                "the redirect carries a code but no state, although a state was sent",
            )),
            (1, Some(value)) => Err(format!(
                "sent state bytes [{}], got [{}]: the state was rewritten",
                hex_bytes(&NON_UTF8_STATE),
                hex_bytes(value)
            )),
            (count, _) => Err(format!("the redirect carries state {count} times")),
        },
        (None, None) => Err(format!(
            "expected a code or error=invalid_request, got {}",
            trace.describe()
        )),
    };
    Ok(ctx.judge(result, &trace.last))
}

/// Returns the values of a query parameter of `uri` as bytes, decoded from
/// the form encoding but not from UTF-8.
fn raw_query_values(uri: &str, name: &str) -> Vec<Vec<u8>> {
    let query = uri
        .split_once('?')
        .map(|(_, rest)| rest.split('#').next().unwrap_or_default())
        .unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_form_bytes(key) == name.as_bytes()).then(|| decode_form_bytes(value))
        })
        .collect()
}

/// Decodes one form-encoded component to bytes: `+` is a space and `%XX` a
/// byte. A `%` without two hex digits after it stays as written.
fn decode_form_bytes(component: &str) -> Vec<u8> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|digits| digits.iter().all(u8::is_ascii_hexdigit))
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u8::from_str_radix(digits, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Formats bytes as upper-case hex pairs separated by spaces, such as `FF FE`.
fn hex_bytes(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|byte| format!("{byte:02X}")).collect();
    pairs.join(" ")
}

/// Expects a code and no `state` in the redirect.
fn expect_no_state(ctx: &mut Ctx<'_>, state: Option<&str>) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    match state {
        Some(value) => request.set("state", value),
        None => request.remove("state"),
    };
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.param("code").is_none() {
        return Ok(ctx.fail(
            format!(
                "expected a redirect to the client with a code, got {}",
                trace.describe()
            ),
            &trace.last,
        ));
    }
    let result = match trace.param("state") {
        None => Ok(()),
        Some(value) => Err(format!("the redirect carries state={value:?}")),
    };
    Ok(ctx.judge(result, &trace.last))
}

fn state_absent(ctx: &mut Ctx<'_>) -> Verdict {
    expect_no_state(ctx, None)
}

fn empty_state_absent(ctx: &mut Ctx<'_>) -> Verdict {
    expect_no_state(ctx, Some(""))
}

fn redirect_query_kept(ctx: &mut Ctx<'_>) -> Verdict {
    let registered = Url::parse(&ctx.main.redirect_uri)
        .map_err(|e| Outcome::skip(format!("the redirect URI is not a URL: {e}")))?;
    let expected: Vec<(String, String)> = registered.query_pairs().into_owned().collect();
    if expected.is_empty() {
        return Err(Outcome::skip(
            "the configured redirect URI has no query to keep",
        ));
    }
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    let Landing::Client { query, .. } = &trace.landing else {
        return Ok(ctx.fail(
            format!(
                "expected a redirect to the client, got {}",
                trace.describe()
            ),
            &trace.last,
        ));
    };
    let missing: Vec<&str> = expected
        .iter()
        .filter(|pair| !query.contains(pair))
        .map(|(name, _)| name.as_str())
        .collect();
    let result = if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the redirect lost the query parameters [{}]",
            missing.join(", ")
        ))
    };
    Ok(ctx.judge(result, &trace.last))
}

fn repeated_scope_rejected(ctx: &mut Ctx<'_>) -> Verdict {
    let scope = ctx
        .config
        .requested_scope()
        .unwrap_or(&ctx.config.resource_scope)
        .to_owned();
    expect_redirect_error(ctx, "invalid_request", |request| {
        request.set("scope", &scope).push("scope", &scope);
    })
}

fn repeated_client_id(ctx: &mut Ctx<'_>) -> Verdict {
    let id = ctx.main.id.clone();
    expect_error_page(ctx, |request| {
        request.push("client_id", &id);
    })
}

fn repeated_redirect_uri(ctx: &mut Ctx<'_>) -> Verdict {
    let uri = ctx.main.redirect_uri.clone();
    expect_error_page(ctx, |request| {
        request.push("redirect_uri", &uri);
    })
}

fn no_cors(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let url = ctx.authz_url(&request);
    // An allowlist may contain the origin of a browser MCP client, so both a
    // foreign origin and that one are tried.
    let mut probes = Vec::new();
    for origin in ["https://evil.example", super::cors::BROWSER_CLIENT_ORIGIN] {
        probes.push(
            HttpRequest::new("OPTIONS", url.clone())
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "mcp-protocol-version"),
        );
        probes.push(HttpRequest::get(url.clone()).header("origin", origin));
    }
    for probe in probes {
        let response = ctx.send(probe)?;
        if let Some(allowed) = response.header("access-control-allow-origin") {
            return Ok(ctx.fail(
                format!(
                    "the response allows cross-origin reads: Access-Control-Allow-Origin: {allowed}"
                ),
                &response,
            ));
        }
    }
    Ok(Outcome::Pass)
}

fn missing_response_type(ctx: &mut Ctx<'_>) -> Verdict {
    expect_redirect_error(ctx, "invalid_request", |request| {
        request.remove("response_type");
    })
}

fn unsupported_response_type(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("response_type", "token");
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if let Landing::Client {
        query, fragment, ..
    } = &trace.landing
    {
        if query
            .iter()
            .chain(fragment)
            .any(|(n, _)| n == "access_token")
        {
            return Ok(ctx.fail("the redirect carries an access token", &trace.last));
        }
    }
    Ok(ctx.judge(
        trace.expect_redirect_error("unsupported_response_type"),
        &trace.last,
    ))
}

/// Splits a URI into the part before its query and the query with its `?`.
fn split_query(uri: &str) -> (&str, &str) {
    match uri.find('?') {
        Some(index) => uri.split_at(index),
        None => (uri, ""),
    }
}

/// Expects an error page for the configured redirect URI changed by `change`.
fn expect_redirect_variant_rejected(ctx: &mut Ctx<'_>, variant: String) -> Verdict {
    expect_error_page(ctx, |request| {
        request.set_redirect_uri(&variant);
    })
}

fn redirect_trailing_slash(ctx: &mut Ctx<'_>) -> Verdict {
    let (head, query) = split_query(&ctx.main.redirect_uri);
    let variant = match head.strip_suffix('/') {
        Some(stripped) => format!("{stripped}{query}"),
        None => format!("{head}/{query}"),
    };
    expect_redirect_variant_rejected(ctx, variant)
}

fn redirect_host_case(ctx: &mut Ctx<'_>) -> Verdict {
    let uri = ctx.main.redirect_uri.clone();
    let variant = uppercase_host(&uri).ok_or_else(|| {
        Outcome::skip("the redirect URI host has no letters whose case could change")
    })?;
    expect_redirect_variant_rejected(ctx, variant)
}

/// Returns the URI with its host in uppercase, or `None` when that changes nothing.
fn uppercase_host(uri: &str) -> Option<String> {
    let host = Url::parse(uri).ok()?.host_str()?.to_owned();
    let start = uri.find("://")? + 3;
    let offset = uri[start..].to_ascii_lowercase().find(&host)?;
    let at = start + offset;
    let upper = host.to_ascii_uppercase();
    if upper == uri[at..at + host.len()] {
        return None;
    }
    Some(format!("{}{upper}{}", &uri[..at], &uri[at + host.len()..]))
}

fn redirect_extra_query(ctx: &mut Ctx<'_>) -> Verdict {
    let uri = &ctx.main.redirect_uri;
    let separator = if uri.contains('?') { '&' } else { '?' };
    let variant = format!("{uri}{separator}conformance=1");
    expect_redirect_variant_rejected(ctx, variant)
}

fn redirect_fragment(ctx: &mut Ctx<'_>) -> Verdict {
    let variant = format!("{}#f", ctx.main.redirect_uri);
    expect_redirect_variant_rejected(ctx, variant)
}

fn redirect_path_suffix(ctx: &mut Ctx<'_>) -> Verdict {
    let (head, query) = split_query(&ctx.main.redirect_uri);
    let variant = format!("{head}2{query}");
    expect_redirect_variant_rejected(ctx, variant)
}

/// Returns the configured redirect URI when it is `http` on a loopback host.
fn loopback_redirect(ctx: &Ctx<'_>) -> Result<Url, Outcome> {
    let url = Url::parse(&ctx.main.redirect_uri)
        .map_err(|e| Outcome::skip(format!("the redirect URI is not a URL: {e}")))?;
    let loopback = url.scheme() == "http" && url.host_str().is_some_and(is_loopback_host);
    if loopback {
        Ok(url)
    } else {
        Err(Outcome::skip(
            "the configured redirect URI is not an http loopback URI, to which this rule applies",
        ))
    }
}

fn loopback_any_port(ctx: &mut Ctx<'_>) -> Verdict {
    let mut url = loopback_redirect(ctx)?;
    let port = if url.port() == Some(53117) {
        53118
    } else {
        53117
    };
    if url.set_port(Some(port)).is_err() {
        return Err(Outcome::skip("the redirect URI port cannot be changed"));
    }
    let variant = String::from(url);
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set_redirect_uri(&variant);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.param("code").is_some() {
        Ok(Outcome::Pass)
    } else {
        Ok(ctx.fail(
            format!(
                "expected a redirect to port {port} with a code, got {}",
                trace.describe()
            ),
            &trace.last,
        ))
    }
}

fn loopback_host_exact(ctx: &mut Ctx<'_>) -> Verdict {
    let url = loopback_redirect(ctx)?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let replacement = if host == "localhost" {
        "127.0.0.1"
    } else {
        "localhost"
    };
    let uri = ctx.main.redirect_uri.clone();
    let start = uri.find("://").map_or(0, |i| i + 3);
    let offset = uri[start..].to_ascii_lowercase().find(&host);
    let Some(offset) = offset else {
        return Err(Outcome::skip(
            "the redirect URI host could not be located in the URI",
        ));
    };
    let at = start + offset;
    let variant = format!("{}{replacement}{}", &uri[..at], &uri[at + host.len()..]);
    expect_redirect_variant_rejected(ctx, variant)
}

/// The port `authorize.loopback-port-out-of-range` sends: above 65535, the
/// largest TCP port, so no client can listen on it.
const OUT_OF_RANGE_PORT: &str = "99999";

fn loopback_port_out_of_range(ctx: &mut Ctx<'_>) -> Verdict {
    loopback_redirect(ctx)?;
    let variant = with_port(&ctx.main.redirect_uri, OUT_OF_RANGE_PORT)
        .ok_or_else(|| Outcome::skip("the redirect URI authority could not be located"))?;
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set_redirect_uri(&variant);
    // The browser stops at the first page: the error must come before sign-in,
    // so a user is never asked to approve a request that cannot complete.
    let trace = ctx.authorize(&request, Decision::Look)?;
    if matches!(trace.landing, Landing::Page) && shows_decision_form(ctx, &trace) {
        return Ok(ctx.fail(
            format!(
                "the server showed its sign-in form for redirect URI {variant}, so it did not \
                 reject port {OUT_OF_RANGE_PORT} at the authorization request"
            ),
            &trace.last,
        ));
    }
    Ok(ctx.judge(trace.expect_error_page(), &trace.last))
}

/// Returns `uri` with the port of its authority set to `port`, written as
/// given, so the port can be one that no URL parser accepts. Returns `None`
/// for a URI without `://` or with user information.
fn with_port(uri: &str, port: &str) -> Option<String> {
    let start = uri.find("://")? + 3;
    let authority_end = uri[start..]
        .find(['/', '?', '#'])
        .map_or(uri.len(), |offset| start + offset);
    let authority = &uri[start..authority_end];
    if authority.contains('@') {
        return None;
    }
    let host_end = if authority.starts_with('[') {
        authority.find(']')? + 1
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    Some(format!(
        "{}{}:{port}{}",
        &uri[..start],
        &authority[..host_end],
        &uri[authority_end..]
    ))
}

fn unknown_client(ctx: &mut Ctx<'_>) -> Verdict {
    let id = format!("conformance-unknown-{}", random_string(8));
    expect_error_page(ctx, |request| {
        request.set("client_id", &id);
    })
}

fn unregistered_redirect(ctx: &mut Ctx<'_>) -> Verdict {
    const FOREIGN: &str = "https://evil.example/cb";
    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set_redirect_uri(FOREIGN);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if let Err(reason) = trace.expect_error_page() {
        return Ok(ctx.fail(reason, &trace.last));
    }
    let leads_there = html::linked_urls(&trace.last.text())
        .iter()
        .any(|url| url.to_ascii_lowercase().contains("evil.example"));
    if leads_there {
        return Ok(ctx.fail(
            "the error page links, posts or refreshes to the unregistered redirect URI",
            &trace.last,
        ));
    }
    Ok(Outcome::Pass)
}

fn redirect_uri_optional(ctx: &mut Ctx<'_>) -> Verdict {
    if !ctx.config.single_redirect_uri {
        return Err(Outcome::skip(
            "depends on how many redirect URIs the client has: pass --single-redirect-uri \
             when it has exactly one",
        ));
    }
    expect_code(ctx, |request| {
        request.remove("redirect_uri");
    })
}

fn deny_access_denied(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::Deny)?;
    if let Err(reason) = trace.expect_redirect_error("access_denied") {
        return Ok(ctx.fail(reason, &trace.last));
    }
    let result = match (trace.param("state"), request.get("state")) {
        (Some(got), Some(sent)) if got == sent => Ok(()),
        (got, _) => Err(format!(
            "the error redirect carries state {got:?}, not the one sent"
        )),
    };
    Ok(ctx.judge(result, &trace.last))
}

fn unknown_scope(ctx: &mut Ctx<'_>) -> Verdict {
    let unknown = format!(
        "conformance-unknown-{}",
        random_string(6).to_ascii_lowercase()
    );
    let scope = match ctx.config.requested_scope() {
        Some(scope) => format!("{scope} {unknown}"),
        None => unknown.clone(),
    };

    let client = ctx.main.clone();
    let mut request = ctx.authz_request(&client);
    request.set("scope", &scope);
    let trace = ctx.authorize(&request, Decision::Approve)?;

    if trace.param("error") == Some("invalid_scope") {
        return Ok(Outcome::Pass);
    }
    let Some(code) = trace.param("code").map(str::to_owned) else {
        return Ok(ctx.fail(
            trace
                .expect_redirect_error("invalid_scope")
                .err()
                .unwrap_or_default(),
            &trace.last,
        ));
    };

    // The server narrowed the grant instead, so the token response must state the scope.
    let issued = crate::flow::Issued {
        code,
        verifier: request.verifier.clone(),
        redirect_uri: request.get("redirect_uri").map(str::to_owned),
        trace,
    };
    let response = ctx.redeem(&client.auth(), &issued, &[])?;
    let tokens = ctx.expect_tokens(response)?;

    let result = match &tokens.scope {
        None => Err(String::from(
            "the server issued a code for an unknown scope and the token response has no scope",
        )),
        Some(granted) if granted.split(' ').any(|s| s == unknown) => Err(format!(
            "the token response grants the unknown scope {unknown}"
        )),
        Some(_) => Ok(()),
    };
    Ok(ctx.judge(result, &tokens.response))
}

fn form_post_303(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::Approve)?;
    if trace.submissions.is_empty() {
        return Err(Outcome::skip(
            "no form was submitted, so there was no form answer to inspect",
        ));
    }
    let result = match trace.submissions.iter().find(|s| matches!(s, 307 | 308)) {
        Some(status) => Err(format!(
            "a form submission was answered {status}, which repeats the POST"
        )),
        None if trace.param("code").is_some() => Ok(()),
        None => Err(format!(
            "expected a redirect to the client with a code, got {}",
            trace.describe()
        )),
    };
    Ok(ctx.judge(result, &trace.last))
}

fn frame_protection(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::Look)?;
    let page = &trace.last;
    if !matches!(trace.landing, Landing::Page) || !(200..300).contains(&page.status) {
        return Err(Outcome::skip(format!(
            "no login page was shown: the request ended with {}",
            trace.describe()
        )));
    }
    let csp_ok = page
        .headers_named("content-security-policy")
        .iter()
        .any(|policy| {
            policy.split(';').any(|directive| {
                let mut parts = directive.split_whitespace();
                parts
                    .next()
                    .is_some_and(|d| d.eq_ignore_ascii_case("frame-ancestors"))
                    && parts.all(|s| s == "'none'" || s == "'self'")
            })
        });
    let xfo_ok = page.header("x-frame-options").is_some_and(|v| {
        v.trim().eq_ignore_ascii_case("deny") || v.trim().eq_ignore_ascii_case("sameorigin")
    });
    let result = if csp_ok || xfo_ok {
        Ok(())
    } else {
        Err(String::from(
            "the page has neither Content-Security-Policy frame-ancestors 'none' nor X-Frame-Options DENY",
        ))
    };
    Ok(ctx.judge(result, page))
}

/// Checks `iss` on an authorization response against the issuer, as RFC 9207
/// requires of a server that advertises support or sends `iss`.
fn judge_iss(ctx: &Ctx<'_>, trace: &AuthzTrace) -> Verdict {
    let expected = ctx
        .metadata
        .str_member("issuer")
        .unwrap_or(ctx.issuer())
        .to_owned();
    let advertised = ctx
        .metadata
        .document()
        .and_then(|d| d.get("authorization_response_iss_parameter_supported"))
        .and_then(serde_json::Value::as_bool)
        == Some(true);
    match trace.param("iss") {
        Some(iss) if iss == expected => Ok(Outcome::Pass),
        Some(iss) => Ok(ctx.fail(format!("iss is {iss:?}, the issuer is {expected:?}"), &trace.last)),
        None if advertised => Ok(ctx.fail(
            "the metadata advertises authorization_response_iss_parameter_supported, but the response has no iss",
            &trace.last,
        )),
        None => Err(Outcome::skip(
            "the server does not advertise RFC 9207 support and sent no iss",
        )),
    }
}

fn iss_on_success(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let issued = ctx.obtain_code(&client, &request)?;
    judge_iss(ctx, &issued.trace)
}

fn iss_on_error(ctx: &mut Ctx<'_>) -> Verdict {
    let client = ctx.main.clone();
    let request = ctx.authz_request(&client);
    let trace = ctx.authorize(&request, Decision::Deny)?;
    if trace.param("error").is_none() {
        return Err(Outcome::skip(format!(
            "denying consent did not produce an error redirect: the flow ended with {}",
            trace.describe()
        )));
    }
    judge_iss(ctx, &trace)
}

fn consent_per_client(ctx: &mut Ctx<'_>) -> Verdict {
    let first = ctx.main.clone();
    let second = ctx.require_public()?;
    if second.id == first.id {
        return Err(Outcome::skip(
            "needs a second client: the public client is the configured one",
        ));
    }
    let mut jar = CookieJar::default();
    let request = ctx.authz_request(&first);
    let approved = ctx.authorize_in(&mut jar, &request, Decision::Approve)?;
    if approved.param("code").is_none() {
        return Err(crate::context::FlowError::new(format!(
            "approving client {} did not give a code: the flow ended with {}",
            first.id,
            approved.describe()
        ))
        .into());
    }

    let request = ctx.authz_request(&second);
    let trace = ctx.authorize_in(&mut jar, &request, Decision::Look)?;
    match &trace.landing {
        Landing::Client { .. } if trace.param("code").is_some() => Ok(ctx.fail(
            format!(
                "after client {} was approved, client {} got a code without a consent page",
                first.id, second.id
            ),
            &trace.last,
        )),
        Landing::Page if shows_decision_form(ctx, &trace) => Ok(Outcome::Pass),
        _ => Err(Outcome::skip(format!(
            "the request of client {} ended with {} rather than a consent page",
            second.id,
            trace.describe()
        ))),
    }
}

/// Returns whether the flow stopped at a page with a form that has a password
/// or consent decision control.
fn shows_decision_form(ctx: &Ctx<'_>, trace: &AuthzTrace) -> bool {
    let page = &trace.last;
    let status_ok = (200..300).contains(&page.status) || page.status == 401;
    status_ok
        && html::find_forms(&page.text()).iter().any(|form| {
            form.has_control(&ctx.config.decision_field)
                || form.has_control(&ctx.config.password_field)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uppercase_host_changes_only_the_host() {
        assert_eq!(
            uppercase_host("https://app.example/cb?x=app.example").as_deref(),
            Some("https://APP.EXAMPLE/cb?x=app.example")
        );
        assert_eq!(
            uppercase_host("http://localhost:5000/callback").as_deref(),
            Some("http://LOCALHOST:5000/callback")
        );
        assert_eq!(uppercase_host("http://127.0.0.1/cb"), None);
    }

    #[test]
    fn with_port_replaces_or_adds_the_port() {
        assert_eq!(
            with_port("http://localhost/cb?tenant=a", "99999").as_deref(),
            Some("http://localhost:99999/cb?tenant=a")
        );
        assert_eq!(
            with_port("http://127.0.0.1:5000/callback", "99999").as_deref(),
            Some("http://127.0.0.1:99999/callback")
        );
        assert_eq!(
            with_port("http://[::1]:8080/cb", "99999").as_deref(),
            Some("http://[::1]:99999/cb")
        );
        assert_eq!(
            with_port("http://localhost", "99999").as_deref(),
            Some("http://localhost:99999")
        );
        assert_eq!(with_port("http://user@localhost/cb", "99999"), None);
        assert_eq!(with_port("localhost/cb", "99999"), None);
    }

    #[test]
    fn raw_query_values_keep_bytes() {
        let location = "http://localhost/cb?code=c&state=%FF%fe&x=a+b#state=no";
        assert_eq!(raw_query_values(location, "state"), [vec![0xFF, 0xFE]]);
        assert_eq!(raw_query_values(location, "x"), [b"a b".to_vec()]);
        assert!(raw_query_values(location, "missing").is_empty());
        assert_eq!(
            raw_query_values("/cb?state=%EF%BF%BD&state=%", "state"),
            [vec![0xEF, 0xBF, 0xBD], b"%".to_vec()]
        );
        assert_eq!(
            raw_query_values("/cb?state=%+F", "state"),
            [b"% F".to_vec()]
        );
        assert!(raw_query_values("/cb", "state").is_empty());
    }

    #[test]
    fn hex_bytes_are_spaced_pairs() {
        assert_eq!(hex_bytes(&NON_UTF8_STATE), "FF FE");
        assert_eq!(hex_bytes(&[]), "");
    }

    #[test]
    fn split_query_keeps_question_mark() {
        assert_eq!(split_query("https://a/cb?x=1"), ("https://a/cb", "?x=1"));
        assert_eq!(split_query("https://a/cb"), ("https://a/cb", ""));
    }
}
