//! Sign-in on the consent page: forms open in several tabs, and the limits on
//! failed sign-ins (NIST SP 800-63B §5.2.2).

use portcullis_fltr::{SIGN_IN_FAILURES_PER_ADDRESS, SIGN_IN_FAILURES_PER_USER, SIGN_IN_WINDOW};

use crate::browser::{ConsentForm, Decision};
use crate::cases::authorize::guide_query;
use crate::fixture::{ALICE, BOB, GUIDE_SCOPE, User, WEB_APP};
use crate::http::Form;
use crate::oauth::{authorize_in, code_from_redirect};
use crate::{Harness, Reply};

/// Consent forms opened in several tabs before sign-in all work after the
/// user signs in on one of them, because they are bound to the browser and
/// not to the session that sign-in creates. A form sent with credentials
/// while signed in signs in again with a new session cookie, and the replaced
/// session is signed out.
pub async fn consent_tabs_survive_sign_in(harness: &Harness) {
    let mut browser = harness.browser();
    let mut tabs = Vec::new();
    for _ in 0..3 {
        let (query, state) = guide_query();
        let (_, form) = browser.open_consent(&query).await;
        assert!(
            form.has_sign_in,
            "a tab opened before sign-in asks to sign in"
        );
        tabs.push((form, state));
    }
    let before = browser.cookies().clone();

    let (form, state) = &tabs[0];
    let reply = browser
        .submit_consent(form, Some(ALICE), Decision::Approve)
        .await;
    code_from_redirect(harness, &reply, WEB_APP.redirect_uri, state);
    let first_session = browser.cookies().clone();
    for (name, value) in &before {
        assert_eq!(
            first_session.get(name),
            Some(value),
            "signing in keeps the cookie {name} that the open forms are bound to"
        );
    }

    let (form, state) = &tabs[1];
    let reply = browser.submit_consent(form, None, Decision::Approve).await;
    assert_eq!(
        reply.status,
        303,
        "the second tab, sent without credentials, is answered with the signed-in session: {}",
        reply.describe()
    );
    code_from_redirect(harness, &reply, WEB_APP.redirect_uri, state);

    let (form, state) = &tabs[2];
    let reply = browser
        .submit_consent(form, Some(ALICE), Decision::Approve)
        .await;
    assert_eq!(
        reply.status,
        303,
        "the third tab, sent with credentials, signs in again: {}",
        reply.describe()
    );
    code_from_redirect(harness, &reply, WEB_APP.redirect_uri, state);
    assert_ne!(
        browser.cookies(),
        &first_session,
        "signing in again replaces the session cookie"
    );

    let mut replaced = harness.browser();
    replaced.set_cookies(first_session);
    let (_, form) = replaced.open_consent(&guide_query().0).await;
    assert!(
        form.has_sign_in,
        "the session replaced at the second sign-in is no longer signed in"
    );
    let (_, form) = browser.open_consent(&guide_query().0).await;
    assert!(!form.has_sign_in, "the new session is signed in");
}

/// After 10 failed sign-ins for one username in 15 minutes, sign-ins for it
/// get the page again with 429, `Retry-After` and a notice, even with the
/// right password, until the window ends. Another user still signs in from
/// the same address, and that success resets no counter.
pub async fn failed_sign_ins_are_throttled_per_user(harness: &Harness) {
    let (query, _) = guide_query();
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&query).await;
    let wrong_password = User {
        username: ALICE.username,
        password: "not the password",
    };
    for attempt in 1..=SIGN_IN_FAILURES_PER_USER {
        let reply = browser
            .submit_consent(&form, Some(wrong_password), Decision::Approve)
            .await;
        assert_eq!(
            reply.status,
            401,
            "failed sign-in {attempt} of {SIGN_IN_FAILURES_PER_USER} gets 401: {}",
            reply.describe()
        );
    }
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    assert_throttled(&reply, "the right password after 10 failures");

    let mut bob = harness.browser();
    authorize_in(
        harness,
        &mut bob,
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        BOB,
    )
    .await;
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    let retry_after = assert_throttled(&reply, "alice after bob signed in");

    harness.advance_clock(retry_after);
    assert_sign_in_works(harness, "after Retry-After").await;
}

/// After 50 failed sign-ins from one address in 15 minutes, spread over
/// usernames, every sign-in from it gets 429 until the window ends.
pub async fn failed_sign_ins_are_throttled_per_address(harness: &Harness) {
    let (query, _) = guide_query();
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&query).await;
    for attempt in 1..=SIGN_IN_FAILURES_PER_ADDRESS {
        let fields = Form::new()
            .with("request_id", &form.request_id)
            .with("csrf", &form.csrf)
            .with("username", &format!("nobody-{attempt}"))
            .with("password", ALICE.password)
            .with("decision", Decision::Approve.as_str());
        let reply = browser.post_form(&form.action, &fields).await;
        assert_eq!(
            reply.status,
            401,
            "failed sign-in {attempt} of {SIGN_IN_FAILURES_PER_ADDRESS} gets 401: {}",
            reply.describe()
        );
    }
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    let retry_after = assert_throttled(&reply, "alice after 50 failures from her address");

    // The pending request lapses sooner than the window, so a new page is needed.
    harness.advance_clock(retry_after - 1);
    let (_, form) = browser.open_consent(&guide_query().0).await;
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    assert_throttled(&reply, "alice one second before Retry-After ends");

    harness.advance_clock(1);
    assert_sign_in_works(harness, "after Retry-After").await;
}

/// Checks the response to a throttled sign-in: the consent page again with 429,
/// `Retry-After` within the window, a notice naming the wait in minutes, the
/// sign-in inputs, and no redirect or cookie. Returns `Retry-After`.
#[track_caller]
fn assert_throttled(reply: &Reply, what: &str) -> u64 {
    assert_eq!(reply.status, 429, "{what}: 429: {}", reply.describe());
    assert!(
        reply.headers.get("location").is_none(),
        "{what}: no redirect"
    );
    assert!(
        reply.headers.get("set-cookie").is_none(),
        "{what}: no cookie is set"
    );

    let retry_after: u64 = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: Retry-After is sent: {:?}", reply.headers))
        .parse()
        .unwrap_or_else(|error| panic!("{what}: Retry-After is in seconds: {error}"));
    assert!(
        (1..=SIGN_IN_WINDOW).contains(&retry_after),
        "{what}: Retry-After {retry_after} is within the {SIGN_IN_WINDOW} s window"
    );

    let minutes = retry_after.div_ceil(60);
    let unit = if minutes == 1 { "minute" } else { "minutes" };
    let notice = format!("Too many failed sign-ins. Try again in {minutes} {unit}.");
    assert!(
        reply.text().contains(&notice),
        "{what}: the page says {notice:?}: {}",
        reply.text()
    );

    let form = ConsentForm::parse(&reply.text())
        .unwrap_or_else(|problem| panic!("{what}: the page has the form again: {problem}"));
    assert!(form.has_sign_in, "{what}: the page asks to sign in");
    retry_after
}

/// Checks that alice can sign in and get a code in a new browser.
async fn assert_sign_in_works(harness: &Harness, when: &str) {
    let mut browser = harness.browser();
    let (query, state) = guide_query();
    let (_, form) = browser.open_consent(&query).await;
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    assert_eq!(
        reply.status,
        303,
        "{when}: alice signs in again: {}",
        reply.describe()
    );
    code_from_redirect(harness, &reply, WEB_APP.redirect_uri, &state);
}
