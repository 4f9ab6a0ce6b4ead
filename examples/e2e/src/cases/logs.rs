//! No secret reaches the log, on success or error paths.

use crate::browser::{ConsentForm, Decision};
use crate::cases::flow::assert_product_docs;
use crate::fixture::{ALICE, GUIDE_SCOPE, REPORTING_APP, User, WEB_APP};
use crate::oauth::{
    Authorized, ClientAuth, Tokens, assert_token_error, authorization_query, authorize_in,
    code_from_redirect, datasets, exchange, random_state, refresh,
};
use crate::pkce::Pkce;
use crate::{Browser, Harness, LogRecorder};

/// Secrets seen during a test, each with a label for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, label: &str, value: &str) {
        assert!(!value.is_empty(), "the secret {label} is not empty");
        self.0.push((label.to_owned(), value.to_owned()));
    }

    fn add_form(&mut self, form: &ConsentForm) {
        self.add("request_id", &form.request_id);
        self.add("csrf", &form.csrf);
    }

    fn add_cookies(&mut self, browser: &Browser) {
        for (name, value) in browser.cookies() {
            self.add(&format!("cookie {name}"), value);
        }
    }

    fn add_tokens(&mut self, label: &str, tokens: &Tokens) {
        self.add(&format!("{label} access token"), &tokens.access_token);
        self.add(&format!("{label} refresh token"), &tokens.refresh_token);
    }

    fn add_code(&mut self, label: &str, authorized: &Authorized) {
        self.add(&format!("{label} code"), &authorized.code);
        self.add(&format!("{label} code verifier"), &authorized.pkce.verifier);
    }
}

/// Runs a whole flow with its error paths while `recorder` records every
/// event and span at every level, then checks that no client secret,
/// password, code, code verifier, token, session cookie, request id or CSRF
/// token appears in the record.
///
/// `recorder` must be installed for the server's tasks before the server starts.
pub async fn logs_contain_no_secrets(harness: &Harness, recorder: &LogRecorder) {
    let http = harness.http();
    let mut secrets = Secrets::default();
    for app in [&WEB_APP, &REPORTING_APP] {
        secrets.add(
            &format!("{} client secret", app.client_id),
            app.secret.expect("confidential"),
        );
    }
    let wrong_password = User {
        username: ALICE.username,
        password: "wrong-passphrase-9f2c7e1d",
    };
    secrets.add("password", ALICE.password);
    secrets.add("wrong password", wrong_password.password);

    // Sign-in with a forged form, a wrong password, then the right one.
    let pkce = Pkce::generate();
    let state = random_state();
    let query = authorization_query(&WEB_APP, WEB_APP.redirect_uri, GUIDE_SCOPE, &state, &pkce);
    let mut browser = harness.browser();
    let (_, form) = browser.open_consent(&query).await;
    secrets.add_form(&form);
    secrets.add_cookies(&browser);
    let mut forged = form.clone();
    forged.csrf = Pkce::generate().verifier;
    secrets.add("forged csrf", &forged.csrf);
    let reply = browser
        .submit_consent(&forged, Some(ALICE), Decision::Approve)
        .await;
    assert!(
        reply.status.is_client_error(),
        "the forged form is rejected: {}",
        reply.describe()
    );
    let reply = browser
        .submit_consent(&form, Some(wrong_password), Decision::Approve)
        .await;
    assert_eq!(
        reply.status,
        401,
        "the wrong password is rejected: {}",
        reply.describe()
    );
    let reply = browser
        .submit_consent(&form, Some(ALICE), Decision::Approve)
        .await;
    secrets.add_cookies(&browser);
    let (code, location) = code_from_redirect(harness, &reply, WEB_APP.redirect_uri, &state);
    let authorized = Authorized {
        code,
        pkce,
        state,
        redirect_uri: WEB_APP.redirect_uri.to_owned(),
        location,
    };
    secrets.add_code("first", &authorized);

    // Failed exchanges, then the real one.
    let wrong_secret = "wrong-secret-of-more-than-32-characters-0b5e";
    secrets.add("wrong client secret", wrong_secret);
    let auth = ClientAuth::Post {
        client_id: WEB_APP.client_id,
        secret: wrong_secret,
    };
    assert_token_error(
        &exchange(http, auth, &authorized).await,
        401,
        "invalid_client",
        "a wrong secret in the body",
    );
    let auth = ClientAuth::Basic {
        client_id: WEB_APP.client_id,
        secret: wrong_secret,
    };
    assert_token_error(
        &exchange(http, auth, &authorized).await,
        401,
        "invalid_client",
        "a wrong secret via Basic",
    );
    let mut wrong_verifier = authorized.clone();
    wrong_verifier.pkce = Pkce::generate();
    secrets.add("wrong code verifier", &wrong_verifier.pkce.verifier);
    assert_token_error(
        &exchange(http, ClientAuth::of(&WEB_APP), &wrong_verifier).await,
        400,
        "invalid_grant",
        "a wrong verifier",
    );
    let first = Tokens::from_reply(&exchange(http, ClientAuth::of(&WEB_APP), &authorized).await);
    secrets.add_tokens("first", &first);

    // The API, refresh rotation and refresh token replay.
    assert_product_docs(&datasets(http, &first.access_token).await);
    assert_eq!(
        datasets(http, "garbage-token").await.status,
        401,
        "an unknown token is rejected"
    );
    let second = Tokens::from_reply(
        &refresh(http, ClientAuth::of(&WEB_APP), &first.refresh_token, None).await,
    );
    secrets.add_tokens("second", &second);
    let reply = refresh(http, ClientAuth::of(&WEB_APP), &first.refresh_token, None).await;
    assert_token_error(&reply, 400, "invalid_grant", "the replayed refresh token");

    // A second authorization in the signed-in session, and a code replay.
    let again = authorize_in(
        harness,
        &mut browser,
        &WEB_APP,
        WEB_APP.redirect_uri,
        GUIDE_SCOPE,
        ALICE,
    )
    .await;
    secrets.add_code("second", &again);
    secrets.add_cookies(&browser);
    let third = Tokens::from_reply(&exchange(http, ClientAuth::basic(&WEB_APP), &again).await);
    secrets.add_tokens("third", &third);
    let reply = exchange(http, ClientAuth::basic(&WEB_APP), &again).await;
    assert_token_error(&reply, 400, "invalid_grant", "the replayed code");

    let lines = recorder.lines();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("portcullis_server_core")),
        "the recorder saw the server core's events, so the check below means something: {lines:#?}"
    );
    assert!(
        lines.iter().any(|line| line.contains("portcullis_fltr")),
        "the recorder saw the FLTR app's events: {lines:#?}"
    );
    for line in &lines {
        for (label, secret) in &secrets.0 {
            assert!(
                !line.contains(secret.as_str()),
                "the {label} appears in a log event: {line}"
            );
        }
    }
}
