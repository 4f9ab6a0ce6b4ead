//! Runs the whole kit against both FLTR example servers, each started
//! in-process on `127.0.0.1` with an ephemeral port, and requires that no check
//! fails.

mod support;

use std::collections::BTreeSet;

use portcullis_conformance::{Outcome, Report};
use support::{build_app, failed_ids, kit_config, passed_ids, run_kit};

/// Checks that skip against these servers, each for a stated reason. The
/// servers speak plain http on loopback, so `--require-https` is off.
/// `--code-lifetime` is off because it would wait out the 60 s code lifetime.
/// `/v1/datasets` returns 405 to a POST, so it takes no form body in which a
/// token could be sent a second way.
const EXPECTED_SKIPS: [&str; 3] = [
    "bearer.two-methods-rejected",
    "metadata.https",
    "token.code-expires",
];

/// Minimum number of checks that must pass in a full run, so that a kit that
/// skips or drops whole groups cannot pass. All 149 checks other than
/// [`EXPECTED_SKIPS`] pass today.
const MIN_PASSED: usize = 149;

/// Prints the report, then asserts that nothing failed, that only
/// [`EXPECTED_SKIPS`] skipped, and that enough checks passed.
fn assert_conforms(server: &str, report: &Report) {
    println!("{server} server:\n{}", report.to_table());
    let failed = failed_ids(report);
    assert!(
        failed.is_empty(),
        "{} checks failed against the {server} server: {failed:?}",
        failed.len()
    );
    let skipped: BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|check| matches!(check.outcome, Outcome::Skip { .. }))
        .map(|check| check.id.as_str())
        .collect();
    assert_eq!(
        skipped,
        BTreeSet::from(EXPECTED_SKIPS),
        "the checks that skipped against the {server} server (left) differ from the expected ones (right)"
    );
    let passed = passed_ids(report).len();
    assert!(
        passed >= MIN_PASSED,
        "only {passed} checks passed against the {server} server, expected at least {MIN_PASSED}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hyper_server_conforms() {
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

    let report = run_kit(kit_config(&issuer)).await;
    server.shutdown().await;
    assert_conforms("hyper", &report);
}

#[tokio::test(flavor = "multi_thread")]
async fn actix_server_conforms() {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 succeeds");
    let issuer = format!(
        "http://{}",
        listener
            .local_addr()
            .expect("a bound listener has an address")
    );
    let app = build_app(&issuer).await;
    let server =
        portcullis_actix_server::spawn(app, listener).expect("the actix-web server starts");

    let report = run_kit(kit_config(&issuer)).await;
    server.shutdown().await;
    assert_conforms("actix-web", &report);
}
