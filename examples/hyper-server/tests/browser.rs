//! Real-browser tests of the login and consent page: headless Chromium, driven
//! by `tests/browser/consent.py` through Selenium, against the hyper server
//! running in-process on `127.0.0.1`.
//!
//! They need Debian's `chromium` and `chromium-driver` and Python's `selenium`,
//! which `scripts/install-browser` installs. Without them the tests fail when
//! the `CI` environment variable is set, and otherwise print a notice and pass.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use portcullis_fltr::{Bootstrap, BootstrapApp, BootstrapUser, SCOPES};
use portcullis_hyper_server::RunningServer;
use portcullis_server_core::{MemoryStore, SystemClock};
use serde_json::Value;
use tokio::net::TcpListener;
use url::Url;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
const CLIENT_NAME: &str = "Browser Test Dashboard";
const CLIENT_ID: &str = "browser-test";
const CLIENT_SECRET: &str = "browser-test-secret-0123456789abcdef";
/// No server is started on port 9, because the test reads only the URL the
/// browser is sent to. Chromium's own error page there is fine.
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";
/// The scopes the test requests, a subset of the app's scopes.
const REQUESTED_SCOPES: [&str; 3] = ["datasets:read", "mcp:query", "account:read"];
/// Maximum time for one run of the script. Its own waits are at most 20 s
/// each, so reaching this means Chromium or ChromeDriver hung.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Checks for Chromium, ChromeDriver and Selenium.
///
/// Returns `false` after printing a notice when one is missing outside CI.
///
/// # Panics
///
/// Panics when one is missing and the `CI` environment variable is set.
fn browser_available() -> bool {
    let mut missing = Vec::new();
    for path in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(path).exists() {
            missing.push(path.to_owned());
        }
    }
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !selenium.is_ok_and(|status| status.success()) {
        missing.push("the Python package selenium (for python3)".to_owned());
    }
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    assert!(
        std::env::var_os("CI").is_none(),
        "browser test prerequisites missing: {missing}; run scripts/install-browser"
    );
    eprintln!(
        "skipping the browser test: missing {missing}; run scripts/install-browser to install them"
    );
    false
}

fn bootstrap() -> Bootstrap {
    Bootstrap {
        users: vec![BootstrapUser {
            username: USERNAME.to_owned(),
            password: PASSWORD.to_owned(),
        }],
        apps: vec![BootstrapApp {
            name: CLIENT_NAME.to_owned(),
            client_id: Some(CLIENT_ID.to_owned()),
            client_secret: Some(CLIENT_SECRET.to_owned()),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            scopes: SCOPES.iter().map(|(name, _)| (*name).to_owned()).collect(),
            public: false,
        }],
    }
}

/// Starts the hyper server on a free port of 127.0.0.1 and returns it with its issuer.
async fn start_server() -> (RunningServer, String) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0 failed");
    let issuer = format!(
        "http://{}",
        listener.local_addr().expect("no local address")
    );
    let (app, _created) =
        portcullis_fltr::build_app(MemoryStore::new(), SystemClock, &issuer, Some(&bootstrap()))
            .await
            .expect("building the FLTR app failed");
    (portcullis_hyper_server::spawn(app, listener), issuer)
}

/// Returns a new, empty folder for one test's screenshot under Cargo's test temp folder.
fn output_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("browser-{test}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("removing the old screenshot folder failed");
    }
    std::fs::create_dir_all(&dir).expect("creating the screenshot folder failed");
    dir
}

/// The JSON line `consent.py` prints on success.
struct ScriptResult {
    final_url: Url,
    state: String,
    code_verifier: String,
}

/// Runs `consent.py` with `decision` and returns what it printed.
///
/// The script runs on the blocking pool so the server keeps serving the
/// browser. It runs in its own process group, so a run past
/// [`SCRIPT_TIMEOUT`] is ended together with the Chromium and ChromeDriver it started.
async fn run_consent_script(issuer: &str, decision: &str, screenshot: &Path) -> ScriptResult {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/consent.py");
    let mut command = Command::new("python3");
    command
        .arg(&script)
        .args(["--base-url", issuer])
        .args(["--client-id", CLIENT_ID])
        .args(["--redirect-uri", REDIRECT_URI])
        .args(["--client-name", CLIENT_NAME])
        .args(["--decision", decision])
        .arg("--screenshot")
        .arg(screenshot)
        // Selenium Manager, which could download a driver, reads SE_OFFLINE.
        // Selenium 4.51 does not start it at all when given the driver path.
        .env("SE_OFFLINE", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if decision == "approve" {
        command
            .args(["--username", USERNAME])
            .args(["--password", PASSWORD]);
    }
    for name in REQUESTED_SCOPES {
        let description = scope_description(name);
        command.arg("--scope").arg(format!("{name}={description}"));
    }

    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("starting python3 {} failed: {error}", script.display()));
    let process_group = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(SCRIPT_TIMEOUT, waiting).await {
        Ok(joined) => joined
            .expect("the task waiting for consent.py panicked")
            .expect("waiting for consent.py failed"),
        Err(_) => {
            kill_process_group(process_group);
            panic!(
                "consent.py timed out after {} s; its process group {process_group} was killed",
                SCRIPT_TIMEOUT.as_secs()
            );
        }
    };
    parse_script_output(&output)
}

fn kill_process_group(process_group: u32) {
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{process_group}")])
        .status();
    if !status.is_ok_and(|status| status.success()) {
        eprintln!("killing process group {process_group} failed; Chromium may still run");
    }
}

fn parse_script_output(output: &Output) -> ScriptResult {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "consent.py failed with {}\nstderr:\n{stderr}\nstdout:\n{stdout}",
        output.status
    );
    let line = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("consent.py printed nothing; stderr:\n{stderr}"));
    let result: Value = serde_json::from_str(line)
        .unwrap_or_else(|error| panic!("consent.py printed invalid JSON {line:?}: {error}"));
    let field = |name: &str| {
        result[name]
            .as_str()
            .unwrap_or_else(|| panic!("consent.py output {line} has no string {name:?}"))
            .to_owned()
    };
    let final_url = field("final_url");
    ScriptResult {
        final_url: Url::parse(&final_url)
            .unwrap_or_else(|error| panic!("final URL {final_url:?} is invalid: {error}")),
        state: field("state"),
        code_verifier: field("code_verifier"),
    }
}

fn scope_description(name: &str) -> &'static str {
    SCOPES
        .iter()
        .find(|(scope, _)| *scope == name)
        .map(|(_, description)| *description)
        .unwrap_or_else(|| panic!("{name} is not a FLTR scope"))
}

fn query_parameter(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Checks that `path` contains a PNG image of a rendered page.
fn assert_screenshot(path: &Path) {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|error| panic!("reading screenshot {} failed: {error}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "screenshot {} is not a PNG file",
        path.display()
    );
    assert!(
        bytes.len() > 24,
        "screenshot {} is only {} bytes long",
        path.display(),
        bytes.len()
    );
    assert_eq!(
        &bytes[12..16],
        b"IHDR",
        "screenshot {} has no IHDR chunk first",
        path.display()
    );
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    assert!(
        width >= 400,
        "screenshot is only {width} pixels wide; consent.py sets an 800x1000 window"
    );
    assert!(
        height >= 400,
        "screenshot is only {height} pixels high; consent.py sets an 800x1000 window"
    );
    // Screenshots of the consent page took about 40 kB with Chromium 156, so a
    // file under 10 kB means the page did not render.
    assert!(
        bytes.len() > 10_000,
        "screenshot {} is only {} bytes; the page was probably blank",
        path.display(),
        bytes.len()
    );
}

/// Exchanges `code` at the token endpoint and reads the dataset list with the access token.
async fn redeem_code(issuer: &str, code: &str, code_verifier: &str) {
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{issuer}/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", code_verifier),
        ])
        .send()
        .await
        .expect("the token request failed");
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .expect("the token response is not JSON");
    assert_eq!(status, 200, "token endpoint answered {body}");
    assert_eq!(body["token_type"], "Bearer", "token response {body}");
    assert_eq!(
        body["scope"],
        REQUESTED_SCOPES.join(" "),
        "token response {body}"
    );
    let access_token = body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("token response {body} has no access_token"));
    assert!(
        access_token.starts_with(portcullis_fltr::ACCESS_TOKEN_PREFIX),
        "access token {access_token:?} lacks the FLTR prefix"
    );

    let response = http
        .get(format!("{issuer}/v1/datasets"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("the datasets request failed");
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .expect("the datasets response is not JSON");
    assert_eq!(status, 200, "/v1/datasets answered {body}");
    assert_eq!(
        body["datasets"][0]["name"], "Product Docs",
        "datasets response {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_approve_returns_code() {
    if !browser_available() {
        return;
    }
    let (server, issuer) = start_server().await;
    let screenshot = output_dir("approve").join("consent.png");

    let result = run_consent_script(&issuer, "approve", &screenshot).await;

    let url = &result.final_url;
    assert!(
        url.as_str().starts_with(REDIRECT_URI),
        "final URL {url} is not under the redirect URI"
    );
    assert_eq!(query_parameter(url, "error"), None, "final URL {url}");
    assert_eq!(
        query_parameter(url, "state").as_deref(),
        Some(result.state.as_str()),
        "final URL {url} does not carry the request's state"
    );
    assert_eq!(
        query_parameter(url, "iss").as_deref(),
        Some(issuer.as_str()),
        "final URL {url} does not carry the issuer"
    );
    let code =
        query_parameter(url, "code").unwrap_or_else(|| panic!("final URL {url} has no code"));
    assert!(
        code.starts_with(portcullis_fltr::CODE_PREFIX),
        "code {code:?} lacks the FLTR prefix"
    );
    assert_screenshot(&screenshot);

    redeem_code(&issuer, &code, &result.code_verifier).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_deny_returns_access_denied() {
    if !browser_available() {
        return;
    }
    let (server, issuer) = start_server().await;
    let screenshot = output_dir("deny").join("consent.png");

    let result = run_consent_script(&issuer, "deny", &screenshot).await;

    let url = &result.final_url;
    assert!(
        url.as_str().starts_with(REDIRECT_URI),
        "final URL {url} is not under the redirect URI"
    );
    assert_eq!(
        query_parameter(url, "error").as_deref(),
        Some("access_denied"),
        "final URL {url}"
    );
    assert_eq!(
        query_parameter(url, "state").as_deref(),
        Some(result.state.as_str()),
        "final URL {url} does not carry the request's state"
    );
    assert_eq!(
        query_parameter(url, "iss").as_deref(),
        Some(issuer.as_str()),
        "final URL {url} does not carry the issuer"
    );
    assert_eq!(query_parameter(url, "code"), None, "final URL {url}");
    assert_screenshot(&screenshot);
    server.shutdown().await;
}
