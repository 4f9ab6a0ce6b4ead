//! The end-to-end cases of `portcullis-e2e` against the hyper server, each on
//! its own server on `127.0.0.1` with an ephemeral port and a manual clock.

use std::sync::Arc;

use portcullis_e2e::{Harness, START_TIME, bootstrap};
use portcullis_hyper_server::RunningServer;
use portcullis_server_core::{ManualClock, MemoryStore};
use tokio::net::TcpListener;

/// Starts the hyper server in-process with the fixture's bootstrap; dropping
/// the returned server stops it.
async fn start_hyper() -> (Harness, RunningServer) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1:0 succeeds");
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
    let server = portcullis_hyper_server::spawn(app, listener);
    (Harness::new(&issuer, &issuer, clock), server)
}

portcullis_e2e::e2e_tests!(start_hyper);
