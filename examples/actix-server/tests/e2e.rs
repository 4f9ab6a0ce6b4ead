//! The end-to-end cases of `portcullis-e2e` against the actix-web server, the
//! same list the hyper server runs, each on its own server on `127.0.0.1` with
//! an ephemeral port and a manual clock.

use std::sync::Arc;

use portcullis_actix_server::RunningServer;
use portcullis_e2e::{Harness, START_TIME, bootstrap};
use portcullis_server_core::{ManualClock, MemoryStore};

/// Stops the actix-web server when a test ends.
struct Stop(Option<RunningServer>);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            // Dropping the handle's future would leave workers running, so the
            // stop runs on its own task.
            tokio::spawn(server.shutdown());
        }
    }
}

/// Starts the actix-web server in-process with the fixture's bootstrap.
async fn start_actix() -> (Harness, Stop) {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 succeeds");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    let issuer = format!("http://{addr}");
    let clock = Arc::new(ManualClock::new(START_TIME));
    let (app, _created) = portcullis_fltr::build_app(
        MemoryStore::new(),
        Arc::clone(&clock),
        &issuer,
        Some(&bootstrap()),
    )
    .await
    .expect("the FLTR app builds with the fixture's bootstrap");
    let server = portcullis_actix_server::spawn(app, listener).expect("actix-web starts");
    (Harness::new(&issuer, &issuer, clock), Stop(Some(server)))
}

// actix-web runs its own worker threads, so the log case runs in logs.rs with
// a process-wide recorder.
portcullis_e2e::e2e_tests!(@cases start_actix, #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);
