//! No secret reaches a log line of the actix-web server. actix-web handles
//! requests on worker threads of its own, so this binary records every
//! thread's events with a process-wide subscriber and holds this one test.

use std::sync::Arc;

use portcullis_e2e::{Harness, LogRecorder, START_TIME, bootstrap};
use portcullis_server_core::{ManualClock, MemoryStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_contain_no_secrets() {
    let recorder = LogRecorder::new();
    tracing::subscriber::set_global_default(recorder.subscriber())
        .expect("no other subscriber is installed in this test binary");
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0 succeeds");
    let issuer = format!(
        "http://{}",
        listener
            .local_addr()
            .expect("a bound listener has an address")
    );
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
    let harness = Harness::new(&issuer, &issuer, clock);
    portcullis_e2e::cases::logs_contain_no_secrets(&harness, &recorder).await;
    server.shutdown().await;
}
