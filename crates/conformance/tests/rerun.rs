//! Runs the kit twice against one hyper example server, as a user who runs it
//! again at once would. The first run locks the test client out with
//! `--brute-force` and uses up the registration limit. The server's clock is
//! frozen, so both limits still hold in the second run, which must report
//! them as skips, never as failures.

mod support;

use std::collections::BTreeSet;

use portcullis_conformance::{Outcome, Report};
use support::{build_app, failed_ids, kit_config, run_kit};

/// Start of the skip reason for a check that got a 429 it could not wait out.
const RATE_LIMITED_REASON: &str = "the server rate-limited the kit (429, Retry-After ";

/// Checks that skip against the example servers in any run, for the reasons
/// that `tests/servers.rs` gives.
const ALWAYS_SKIPPED: [&str; 3] = [
    "bearer.two-methods-rejected",
    "metadata.https",
    "token.code-expires",
];

/// Returns the ids of the skipped checks whose reason satisfies `keep`.
fn skipped_ids(report: &Report, keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    report
        .checks
        .iter()
        .filter(|check| matches!(&check.outcome, Outcome::Skip { reason } if keep(reason)))
        .map(|check| check.id.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn second_run_skips_rate_limited_checks() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0 succeeds");
    let issuer = format!(
        "http://{}",
        listener
            .local_addr()
            .expect("a bound listener has an address")
    );
    let app = build_app(&issuer).await;
    let server = portcullis_hyper_server::spawn(app, listener);

    let first = run_kit(kit_config(&issuer)).await;
    let second = run_kit(kit_config(&issuer)).await;
    server.shutdown().await;
    println!("second run:\n{}", second.to_table());

    let first_failed = failed_ids(&first);
    assert!(
        first_failed.is_empty(),
        "checks failed in the first run: {first_failed:?}"
    );
    let second_failed = failed_ids(&second);
    assert!(
        second_failed.is_empty(),
        "checks failed in the second run: {second_failed:?}"
    );

    let rate_limited = skipped_ids(&second, |reason| reason.contains(RATE_LIMITED_REASON));
    // The locked-out client's token requests get Retry-After 60, and
    // registrations get the rest of the frozen clock's minute, 30 s.
    for id in [
        "authorize.consent-per-client",
        "client-auth.secret-post",
        "token.code-single-use",
        "refresh.rotates",
        "register.open-registration",
        "register.native-redirects-accepted",
    ] {
        assert!(
            rate_limited.contains(id),
            "{id} did not skip for the rate limit in the second run"
        );
    }
    let other_skips = skipped_ids(&second, |reason| !reason.contains(RATE_LIMITED_REASON));
    let unexplained: BTreeSet<&String> = other_skips
        .iter()
        .filter(|id| !ALWAYS_SKIPPED.contains(&id.as_str()))
        .collect();
    assert!(
        unexplained.is_empty(),
        "checks skipped in the second run for a reason other than the rate limit: {unexplained:?}"
    );
}
