//! The authorization endpoint and the consent page over real HTTP.

use crate::browser::{ConsentForm, Decision};
use crate::fixture::{ALICE, DESKTOP_APP, GUIDE_SCOPE, User, WEB_APP};
use crate::http::{Form, query_param};
use crate::oauth::{
    ClientAuth, Tokens, authorization_query, authorize_in, code_from_redirect, exchange,
    random_state, sign_in_and_decide,
};
use crate::pkce::Pkce;
use crate::resource::assert_error_redirect_any_state;
use crate::{Harness, Reply};

/// Checks that a reply is the server's own error page: a 4xx HTML page with
/// no `Location`, so nothing is sent to an unverified redirect URI.
#[track_caller]
pub(crate) fn assert_error_page(reply: &Reply, status: u16, what: &str) {
    assert_eq!(
        reply.status,
        status,
        "{what}: the error page has status {status}: {}",
        reply.describe()
    );
    assert!(
        reply.headers.get("location").is_none(),
        "{what}: the error page does not redirect: {}",
        reply.describe()
    );
    assert!(
        reply
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/html")),
        "{what}: the error page is HTML: {}",
        reply.describe()
    );
}

/// The guide's authorization request for the web app with fresh PKCE and state.
pub(crate) fn guide_query() -> (Form, String) {
    let state = random_state();
    let query = authorization_query(
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        &state,
        &Pkce::generate(),
    );
    (query, state)
}

async fn get_authorize(harness: &Harness, query: &Form) -> Reply {
    harness
        .http()
        .get(&format!("/oauth/authorize?{}", query.encode()), &[])
        .await
}

/// An unknown or missing `client_id` is shown on an error page, never
/// redirected (OAuth 2.1 §4.1.2.1).
pub async fn unknown_client_shows_error_page(harness: &Harness) {
    let (query, _) = guide_query();
    let reply = get_authorize(harness, &query.clone().set("client_id", "no-such-client")).await;
    assert_error_page(&reply, 400, "unknown client_id");
    assert!(
        reply.text().contains("invalid_client"),
        "the page names the error invalid_client: {}",
        reply.text()
    );
    assert!(
        !reply.text().contains("localhost:5000"),
        "the page does not link to the unverified redirect URI"
    );

    let reply = get_authorize(harness, &query.without("client_id")).await;
    assert_error_page(&reply, 400, "missing client_id");
}

/// A `redirect_uri` that differs from the registered one by a trailing slash,
/// its path or its host is shown on an error page: redirect URIs match as
/// exact strings (OAuth 2.1 §2.3.1, RFC 9700 §4.1.3).
pub async fn mismatched_redirect_uri_shows_error_page(harness: &Harness) {
    let (query, _) = guide_query();
    for (what, redirect_uri) in [
        ("trailing slash", "http://localhost:5000/callback/"),
        ("different path", "http://localhost:5000/other"),
        ("different loopback host", "http://127.0.0.1:5000/callback"),
        ("different host", "https://attacker.example/callback"),
        ("upper-case host", "http://LOCALHOST:5000/callback"),
        ("added query", "http://localhost:5000/callback?x=1"),
    ] {
        let reply = get_authorize(harness, &query.clone().set("redirect_uri", redirect_uri)).await;
        assert_error_page(&reply, 400, what);
        assert!(
            !reply.text().contains("attacker.example"),
            "{what}: the error page has no link to the requested redirect URI"
        );
    }
}

/// A repeated `client_id` or `redirect_uri` leaves the client or redirect URI
/// unverified, so it is shown on an error page (OAuth 2.1 §3.1).
pub async fn repeated_client_id_or_redirect_uri_shows_error_page(harness: &Harness) {
    let (query, _) = guide_query();
    let reply = get_authorize(harness, &query.clone().with("client_id", WEB_APP.client_id)).await;
    assert_error_page(&reply, 400, "repeated client_id");
    let reply = get_authorize(harness, &query.with("redirect_uri", WEB_APP.redirect_uri)).await;
    assert_error_page(&reply, 400, "repeated redirect_uri");
}

/// The public app registered `http://127.0.0.1/cb`: any port is accepted on
/// that loopback address and the response goes to it, while another path or
/// loopback host is not (RFC 8252 §7.3).
pub async fn loopback_redirect_port_is_free(harness: &Harness) {
    let redirect_uri = "http://127.0.0.1:53117/cb";
    let mut browser = harness.browser();
    let authorized = authorize_in(
        harness,
        &mut browser,
        &DESKTOP_APP,
        redirect_uri,
        "datasets:read",
        ALICE,
    )
    .await;
    assert_eq!(
        authorized.location.port(),
        Some(53117),
        "the code goes to the port the request named"
    );
    let reply = exchange(harness.http(), ClientAuth::of(&DESKTOP_APP), &authorized).await;
    let tokens = Tokens::from_reply(&reply);
    assert_eq!(
        tokens.scope, "datasets:read",
        "the public client redeems its code with PKCE and no secret"
    );

    for (what, other) in [
        ("IPv6 loopback host", "http://[::1]:53117/cb"),
        ("localhost host", "http://localhost:53117/cb"),
        ("other path", "http://127.0.0.1:53117/cb2"),
        ("https scheme", "https://127.0.0.1:53117/cb"),
    ] {
        let query = authorization_query(
            &DESKTOP_APP,
            other,
            "datasets:read",
            &random_state(),
            &Pkce::generate(),
        );
        let reply = get_authorize(harness, &query).await;
        assert_error_page(&reply, 400, what);
    }
}

/// Errors found after the client and redirect URI are verified go to the
/// redirect URI with `error`, the request's `state` and `iss` (OAuth 2.1
/// §4.1.2.1, RFC 9207 §2), and never with a code or token.
pub async fn invalid_request_redirects_error_with_state(harness: &Harness) {
    let (query, state) = guide_query();
    let challenge_42 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c";
    let challenge_plus = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM";
    let cases = [
        (
            "no code_challenge",
            query.clone().without("code_challenge"),
            "invalid_request",
        ),
        (
            "code_challenge_method=plain",
            query.clone().set("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            "code_challenge_method=S512",
            query.clone().set("code_challenge_method", "S512"),
            "invalid_request",
        ),
        (
            "no code_challenge_method",
            query.clone().without("code_challenge_method"),
            "invalid_request",
        ),
        (
            "42-character code_challenge",
            query.clone().set("code_challenge", challenge_42),
            "invalid_request",
        ),
        (
            "code_challenge containing +",
            query.clone().set("code_challenge", challenge_plus),
            "invalid_request",
        ),
        (
            "unknown scope",
            query.clone().set("scope", "datasets:read nonsense:x"),
            "invalid_scope",
        ),
        (
            "repeated scope",
            query.clone().with("scope", "datasets:read"),
            "invalid_request",
        ),
        (
            "response_type=token",
            query.clone().set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            "no response_type",
            query.clone().without("response_type"),
            "invalid_request",
        ),
    ];
    for (what, query, error) in cases {
        let reply = get_authorize(harness, &query).await;
        let location =
            assert_error_redirect_any_state(harness, &reply, WEB_APP.redirect_uri, error, what);
        assert_eq!(
            query_param(&location, "state").as_deref(),
            Some(state.as_str()),
            "{what}: the error redirect carries the request's state"
        );
    }

    let reply = get_authorize(harness, &query.clone().set("response_type", "token")).await;
    let location = reply.location(harness.base_url()).expect("a Location");
    for name in ["access_token", "token_type", "code"] {
        assert_eq!(
            query_param(&location, name),
            None,
            "response_type=token: the redirect carries no {name}"
        );
    }
    assert_eq!(
        location.fragment(),
        None,
        "response_type=token: the redirect has no fragment"
    );

    let reply = get_authorize(harness, &query.with("state", "second")).await;
    let location = assert_error_redirect_any_state(
        harness,
        &reply,
        WEB_APP.redirect_uri,
        "invalid_request",
        "repeated state",
    );
    assert_eq!(
        query_param(&location, "state"),
        None,
        "repeated state: neither of the two values is echoed"
    );
}

/// Denying on the sign-in form, and denying as an already signed-in user, both
/// get a 303 with `access_denied`, the `state` and `iss` (RFC 6749 §4.1.2.1).
pub async fn deny_redirects_access_denied(harness: &Harness) {
    let state = "a b+c/~&x=1";
    let query = guide_query().0.set("state", state);
    let mut browser = harness.browser();
    let reply = sign_in_and_decide(&mut browser, &query, ALICE, Decision::Deny).await;
    assert_eq!(
        reply.status,
        303,
        "deny on the sign-in form answers 303: {}",
        reply.describe()
    );
    let location = assert_error_redirect_any_state(
        harness,
        &reply,
        WEB_APP.redirect_uri,
        "access_denied",
        "deny on the sign-in form",
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state),
        "deny on the sign-in form: the redirect carries the state unchanged"
    );

    let mut browser = harness.browser();
    authorize_in(
        harness,
        &mut browser,
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        ALICE,
    )
    .await;
    let (query, state) = guide_query();
    let (page, form) = browser.open_consent(&query).await;
    assert!(!form.has_sign_in, "a signed-in user sees no sign-in inputs");
    assert!(
        page.text().contains(ALICE.username),
        "the page names the signed-in user"
    );
    let reply = browser.submit_consent(&form, None, Decision::Deny).await;
    assert_eq!(
        reply.status,
        303,
        "deny when signed in answers 303: {}",
        reply.describe()
    );
    let location = assert_error_redirect_any_state(
        harness,
        &reply,
        WEB_APP.redirect_uri,
        "access_denied",
        "deny when signed in",
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state.as_str()),
        "deny when signed in: the redirect carries the state"
    );
}

/// A wrong password or unknown user shows the page again with status 401 and
/// no redirect; the same form then works with the right password.
pub async fn wrong_password_shows_page_again(harness: &Harness) {
    let (query, state) = guide_query();
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&query).await;
    let wrong_password = User {
        username: ALICE.username,
        password: "not the password",
    };
    let unknown_user = User {
        username: "mallory",
        password: ALICE.password,
    };
    let mut form = form;
    for (what, user) in [
        ("wrong password", wrong_password),
        ("unknown user", unknown_user),
    ] {
        let reply = browser
            .submit_consent(&form, Some(user), Decision::Approve)
            .await;
        assert_eq!(
            reply.status,
            401,
            "{what}: the page is shown again with 401: {}",
            reply.describe()
        );
        assert!(
            reply.headers.get("location").is_none(),
            "{what}: no redirect"
        );
        form = ConsentForm::parse(&reply.text())
            .unwrap_or_else(|problem| panic!("{what}: the page again has the form: {problem}"));
        assert!(form.has_sign_in, "{what}: the page asks to sign in again");
    }

    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    let (code, _) = code_from_redirect(harness, &reply, WEB_APP.redirect_uri, &state);
    assert!(
        !code.is_empty(),
        "the retry with the right password gets a code"
    );
}

/// A consent form with a wrong CSRF token, sent with another browser's
/// cookies, with forged cookie values or with no cookie, gets an error page
/// and no redirect.
pub async fn forged_consent_form_is_rejected(harness: &Harness) {
    let (query, _) = guide_query();
    let mut alice = harness.browser();
    let (_, alice_form) = alice.open_consent(&query).await;

    let mut forged = alice_form.clone();
    forged.csrf = format!("{}x", forged.csrf);
    let reply = alice
        .submit_consent(&forged, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "a changed CSRF token");

    let mut forged = alice_form.clone();
    forged.csrf = String::from("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let reply = alice
        .submit_consent(&forged, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "a CSRF token of the right length");

    let (other_query, _) = guide_query();
    let mut mallory = harness.browser();
    let (_, mallory_form) = mallory.open_consent(&other_query).await;
    let reply = mallory
        .submit_consent(&alice_form, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "the form sent with another session's cookie");

    let mut swapped = alice_form.clone();
    swapped.csrf = mallory_form.csrf.clone();
    let reply = alice
        .submit_consent(&swapped, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "the CSRF token of another session");

    let mut no_cookie = harness.browser();
    let reply = no_cookie
        .submit_consent(&alice_form, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "the form sent without cookies");

    let mut forged_cookies = harness.browser();
    let replaced = alice
        .cookies()
        .keys()
        .map(|name| (name.clone(), random_state()))
        .collect();
    forged_cookies.set_cookies(replaced);
    let reply = forged_cookies
        .submit_consent(&alice_form, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "the form sent with forged cookie values");
}

#[track_caller]
pub(crate) fn assert_rejected_form(reply: &Reply, what: &str) {
    assert!(
        matches!(reply.status.as_u16(), 400 | 403),
        "{what}: the error page has status 400 or 403: {}",
        reply.describe()
    );
    assert!(
        reply.headers.get("location").is_none(),
        "{what}: no redirect: {}",
        reply.describe()
    );
    assert!(
        ConsentForm::parse(&reply.text()).is_err(),
        "{what}: the error page has no consent form"
    );
}

/// The consent page cannot be framed (RFC 9700 §4.16), names the client, and
/// lists each requested scope with its description and no other scope. Its
/// cookies are `HttpOnly` and `SameSite=Lax`, and no `form-action`
/// policy stops the browser from following the 303 to the client.
pub async fn consent_page_names_client_and_scopes(harness: &Harness) {
    let (query, _) = guide_query();
    let mut browser = harness.browser();
    let (page, form) = browser.open_consent(&query).await;

    let frame_options = page.header("x-frame-options").unwrap_or_default();
    let policy = page.header("content-security-policy").unwrap_or_default();
    assert!(
        frame_options.eq_ignore_ascii_case("deny") || policy.contains("frame-ancestors 'none'"),
        "the page forbids framing with X-Frame-Options: DENY or frame-ancestors 'none': {:?}",
        page.headers
    );
    let html = page.text();
    assert!(
        html.contains(WEB_APP.name),
        "the page names the client {:?}",
        WEB_APP.name
    );
    for (scope, description) in [
        ("datasets:read", "Read datasets and documents"),
        ("datasets:write", "Create and modify datasets"),
        ("mcp:query", "Use MCP query endpoints"),
    ] {
        assert!(html.contains(scope), "the page lists the scope {scope}");
        assert!(
            html.contains(description),
            "the page describes {scope} as {description:?}"
        );
    }
    assert!(
        !html.contains("datasets:delete") && !html.contains("Delete datasets and documents"),
        "the page lists no scope that was not requested"
    );
    assert!(form.has_sign_in, "a new visitor is asked to sign in");
    assert_eq!(
        form.decisions,
        ["approve", "deny"],
        "the form has approve and deny buttons"
    );

    let cookies: Vec<&str> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    assert!(
        !cookies.is_empty(),
        "the page sets a cookie that binds the form to the browser: {:?}",
        page.headers
    );
    for cookie in cookies {
        assert!(
            cookie.contains("HttpOnly"),
            "the cookie is HttpOnly: {cookie}"
        );
        assert!(
            cookie.contains("SameSite=Lax"),
            "the cookie is SameSite=Lax: {cookie}"
        );
    }

    // Chromium also checks form-action against the redirects that follow a
    // form submission, so a policy that names only 'self' blocks the 303 to
    // the client and the user never gets back to the application.
    if let Some(sources) = policy
        .split(';')
        .map(str::trim)
        .find_map(|directive| directive.strip_prefix("form-action "))
    {
        let allows_client = sources
            .split_whitespace()
            .any(|source| matches!(source, "*" | "http:" | "http://localhost:5000"));
        assert!(
            allows_client,
            "the Content-Security-Policy form-action {sources:?} allows the 303 to the client's \
             redirect URI {}, which browsers check against form-action",
            WEB_APP.redirect_uri
        );
    }
}

/// Signing in sets a session cookie that no response set before, so cookies
/// planted before sign-in are never signed in (session fixation), and a
/// submitted form cannot be sent again.
pub async fn sign_in_renews_session_and_consumes_form(harness: &Harness) {
    let (query, state) = guide_query();
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&query).await;
    let before = browser.cookies().clone();
    assert!(!before.is_empty(), "the consent page sets a cookie");

    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    code_from_redirect(harness, &reply, WEB_APP.redirect_uri, &state);
    let set_at_sign_in: Vec<&String> = browser
        .cookies()
        .iter()
        .filter(|(name, value)| before.get(*name) != Some(*value))
        .map(|(name, _)| name)
        .collect();
    assert!(
        !set_at_sign_in.is_empty(),
        "signing in sets a cookie with a value no earlier response set"
    );

    let reply = browser.submit_consent(&form, None, Decision::Approve).await;
    assert_rejected_form(&reply, "the answered form sent again");

    let mut planted = harness.browser();
    planted.set_cookies(before);
    let (_, form) = planted.open_consent(&guide_query().0).await;
    assert!(
        form.has_sign_in,
        "the cookies from before sign-in do not carry the signed-in user"
    );
}

/// A consent form submitted more than 10 minutes after it was shown gets the
/// error page: pending requests expire.
pub async fn expired_consent_form_is_rejected(harness: &Harness) {
    let (query, _) = guide_query();
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&query).await;
    harness.advance_clock(601);
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    assert_rejected_form(&reply, "a form answered 601 s after it was shown");
}
