//! FLTR's own Python client code, run against the server.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::Harness;
use crate::fixture::{ALICE, WEB_APP};

/// The script that runs the guide's snippets.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/fltr_client.py");

/// How long the Python client may take for the whole flow.
const PYTHON_TIMEOUT: Duration = Duration::from_secs(120);

/// Proxy variables that `requests` would otherwise honour; the server is on loopback.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

/// Runs the FLTR guide's Python client code (PKCE, authorization URL, code
/// exchange with `requests.post(data=...)`, `GET /v1/datasets`,
/// `refresh_access_token`) against the server, signing in on the consent page.
pub async fn python_guide_client_completes_flow(harness: &Harness) {
    require_python_requests().await;
    let mut command = Command::new("python3");
    command
        .arg(SCRIPT)
        .arg(harness.base_url())
        .arg(WEB_APP.client_id)
        .arg(WEB_APP.secret.expect("the web app is confidential"))
        .arg(WEB_APP.redirect_uri)
        .arg(ALICE.username)
        .arg(ALICE.password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for variable in PROXY_VARIABLES {
        command.env_remove(variable);
    }
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("starting python3 {SCRIPT} failed: {error}"));
    let output = tokio::time::timeout(PYTHON_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the Python client did not finish within {PYTHON_TIMEOUT:?}"))
        .expect("waiting for the Python client failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python client exits 0, got {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    for expected in [
        "authorized: redirected to the redirect URI",
        "callback: state and iss verified",
        "exchanged: token_type=Bearer expires_in=3600 scope=datasets:read datasets:write mcp:query",
        "datasets: Product Docs",
        "rate limit: 15000",
        "refreshed: new tokens work",
        "reused refresh token: rejected",
    ] {
        assert!(
            stdout.lines().any(|line| line == expected),
            "the Python client prints {expected:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}

/// Fails with the install command when `python3` or its `requests` package is missing.
async fn require_python_requests() {
    let probe = Command::new("python3")
        .args(["-c", "import requests"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let probe = tokio::time::timeout(PYTHON_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| {
            panic!("python3 -c 'import requests' did not finish within {PYTHON_TIMEOUT:?}")
        });
    let hint = "install it with `python3 -m pip install requests` (scripts/test does this)";
    match probe {
        Err(error) => panic!(
            "python3 cannot be started ({error}); the FLTR Python client test needs Python 3 with requests: {hint}"
        ),
        Ok(output) if !output.status.success() => panic!(
            "the Python package requests is missing, which the FLTR Python client test needs: {hint}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Ok(_) => {}
    }
}
