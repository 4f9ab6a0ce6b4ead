//! The README's curl walk-through, run as written against a real server.
//!
//! The shell blocks of the "Walk through the flow with curl" section are
//! extracted from README.md and run by bash, with the variables the reader
//! would fill in from the server's printed credentials set from a bootstrap.
//! A README edit that breaks the walk-through fails this test.

use std::process::Command;
use std::sync::Arc;

use portcullis_fltr::{Bootstrap, BootstrapApp, BootstrapUser};
use portcullis_server_core::{ManualClock, MemoryStore};
use tokio::net::TcpListener;

const CLIENT_SECRET: &str = "readme-walk-through-secret-of-40-characters";
const PASSWORD: &str = "a long passphrase for the walk-through";

/// Returns the shell code of the README's curl walk-through, in order.
fn walk_through_blocks() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let start = readme
        .find("## Walk through the flow with curl")
        .expect("the README has the walk-through section");
    let section = &readme[start..];
    let end = section[3..]
        .find("\n## ")
        .map_or(section.len(), |at| at + 3);
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section[..end].lines() {
        let trimmed = line.trim_start();
        match (&mut current, trimmed) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(trimmed);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walk_through_works() {
    let blocks = walk_through_blocks();
    assert!(
        blocks.len() >= 6,
        "the walk-through has its shell blocks: {blocks:?}"
    );

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let issuer = format!("http://{}", listener.local_addr().expect("bound address"));
    let bootstrap = Bootstrap {
        users: vec![BootstrapUser {
            username: "demo".into(),
            password: PASSWORD.into(),
        }],
        apps: vec![BootstrapApp {
            name: "FLTR demo app".into(),
            client_id: Some("demo-app".into()),
            client_secret: Some(CLIENT_SECRET.into()),
            redirect_uris: vec!["http://localhost:5000/callback".into()],
            scopes: vec!["datasets:read".into(), "mcp:query".into()],
            public: false,
        }],
    };
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let (app, _) = portcullis_fltr::build_app(MemoryStore::new(), clock, &issuer, Some(&bootstrap))
        .await
        .expect("the app builds");
    let server = portcullis_hyper_server::spawn(app, listener);

    // The first block sets the variables the reader copies from the server's
    // output; it is replaced by the real values.
    let mut script = String::from("set -eu\n");
    script.push_str(&format!(
        "AS={issuer}\nCLIENT_ID=demo-app\nCLIENT_SECRET={CLIENT_SECRET}\n\
         PASSWORD='{PASSWORD}'\nREDIRECT_URI=http://localhost:5000/callback\n"
    ));
    for block in &blocks[1..] {
        script.push_str(block);
    }
    script.push_str("echo \"walk-through refresh: $(curl -s \"$AS/oauth/token\" -d grant_type=refresh_token -d \"refresh_token=$refresh_token\" -d \"client_id=$CLIENT_ID\" -d \"client_secret=$CLIENT_SECRET\")\"\n");
    let directory = std::env::temp_dir().join(format!("portcullis-readme-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("create a scratch directory");

    let output = tokio::task::spawn_blocking({
        let directory = directory.clone();
        move || {
            Command::new("bash")
                .arg("-c")
                .arg(script)
                .current_dir(directory)
                .output()
        }
    })
    .await
    .expect("the script task ends")
    .expect("bash runs");
    let _ = std::fs::remove_dir_all(&directory);
    server.shutdown().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walk-through failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("code=fltr_ac_"),
        "step 3 prints a location with a code:\n{stdout}"
    );
    assert!(
        stdout.contains("\"access_token\":\"fltr_at_"),
        "step 4 prints tokens:\n{stdout}"
    );
    assert!(
        stdout.contains("\"name\":\"Product Docs\""),
        "step 5 lists the datasets:\n{stdout}"
    );
    let refreshes = stdout.matches("\"refresh_token\":\"fltr_rt_").count();
    assert!(
        refreshes >= 2,
        "step 5's refresh returns a new refresh token:\n{stdout}"
    );
    assert!(
        stdout.contains("walk-through refresh: {\"error\":\"invalid_grant\""),
        "the old refresh token is rejected after rotation:\n{stdout}"
    );
}
