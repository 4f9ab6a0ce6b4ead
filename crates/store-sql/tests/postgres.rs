//! The store contract on PostgreSQL, each test in a schema of its own.
//!
//! The server comes from `PORTCULLIS_TEST_POSTGRES_URL`, which
//! `scripts/start-postgres.sh` prints. Without it these tests pass after
//! printing a notice, unless `CI` is set, where they fail.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_server_core::{Redemption, Store, StoreError};
use portcullis_store_sql::{ConnectError, PostgresStore, SqlStore, StoreOptions};
use sqlx::postgres::PgConnectOptions;
use support::{NOW, PostgresSchema, checks, code, grant, grant_id, hash, tokens};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::task::{AbortHandle, JoinSet};

/// Connects a store to a new schema, or returns `None` when PostgreSQL tests are skipped.
async fn open() -> Option<(PostgresSchema, PostgresStore)> {
    let schema = PostgresSchema::create().await?;
    let store = PostgresStore::connect(&schema.url)
        .await
        .expect("connect to PostgreSQL");
    Some((schema, store))
}

/// Generates one test per check that takes `&store`.
macro_rules! borrowed_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $check() {
            let Some((_schema, store)) = open().await else { return };
            checks::$check(&store).await;
        }
    )*};
}

/// Generates one multi-threaded test per check that races tasks over an `Arc` of the store.
macro_rules! shared_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let Some((_schema, store)) = open().await else { return };
            checks::$check(Arc::new(store)).await;
        }
    )*};
}

borrowed_checks!(
    client_round_trips,
    duplicate_client_conflicts,
    code_round_trips,
    duplicate_code_conflicts,
    redeem_code_stores_grant_and_tokens,
    second_redemption_reports_grant,
    unknown_code_redeems_nothing,
    rotate_refresh_replaces_the_pair,
    rotated_refresh_reports_reuse,
    unknown_refresh_rotates_nothing,
    revoke_grant_removes_every_token,
    replay_after_revocation_still_detected,
    revoke_access_token_reports_presence,
    purge_removes_only_expired_rows,
    purge_stops_at_the_limit,
    purge_removes_rotated_tombstones,
    users_are_unique_by_name,
    sessions_expire_and_delete,
    pending_request_is_taken_once,
    expired_pending_request_is_ignored,
    extreme_values_round_trip,
    far_future_expiry_stays_live,
);

shared_checks!(
    concurrent_redemptions_have_one_winner,
    concurrent_rotations_have_one_winner,
    concurrent_takes_have_one_winner,
    rotation_racing_revocation_leaves_no_tokens,
    purge_racing_revocation_succeeds,
);

#[tokio::test]
async fn sql_store_opens_postgres_urls() {
    let Some(schema) = PostgresSchema::create().await else {
        return;
    };

    let store = SqlStore::connect(&schema.url).await.unwrap();

    assert!(matches!(store, SqlStore::Postgres(_)));
    checks::code_round_trips(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_first_connects_migrate_once() {
    let Some(schema) = PostgresSchema::create().await else {
        return;
    };

    // The migrator's advisory lock makes the second connect wait, then find
    // the schema current.
    let (first, second) = tokio::join!(
        PostgresStore::connect(&schema.url),
        PostgresStore::connect(&schema.url)
    );

    let (first, second) = (first.unwrap(), second.unwrap());
    checks::code_round_trips(&first).await;
    assert!(second.code(hash("code")).await.unwrap().is_some());
}

#[tokio::test]
async fn reconnecting_keeps_records() {
    let Some((schema, store)) = open().await else {
        return;
    };
    store
        .insert_code(hash("code"), code(grant_id(1)))
        .await
        .unwrap();
    store.close().await;

    let reopened = PostgresStore::connect(&schema.url).await.unwrap();

    assert!(reopened.code(hash("code")).await.unwrap().is_some());
}

#[tokio::test]
async fn closed_store_is_unavailable() {
    let Some((_schema, store)) = open().await else {
        return;
    };
    store.close().await;

    let result = store.access_token(hash("token")).await;

    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

/// A Unix-socket proxy in front of the test server, which a test can cut off
/// the way a server shutdown or a network failure would.
struct Proxy {
    directory: tempfile::TempDir,
    socket_name: String,
    server: PgConnectOptions,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    /// Starts a proxy to the server that `url` names.
    fn start(url: &str) -> Self {
        let server = PgConnectOptions::from_str(url).expect("valid PostgreSQL URL");
        let proxy = Self {
            directory: tempfile::tempdir().expect("temporary directory"),
            socket_name: format!(".s.PGSQL.{}", server.get_port()),
            server,
            tasks: Arc::default(),
        };
        proxy.listen();
        proxy
    }

    /// Returns `url` with the host replaced by this proxy's socket directory.
    fn url(&self, url: &str) -> String {
        format!("{url}&host={}", self.directory.path().display())
    }

    /// Accepts connections again, on the same socket path.
    fn listen(&self) {
        let path = self.directory.path().join(&self.socket_name);
        // A socket file left by an earlier listener would make the bind fail.
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind the proxy socket");
        let server = self.server.clone();
        let tasks = Arc::clone(&self.tasks);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let forward = tokio::spawn(forward(client, server.clone()));
                tasks
                    .lock()
                    .expect("proxy task list")
                    .push(forward.abort_handle());
            }
        });
        self.tasks
            .lock()
            .expect("proxy task list")
            .push(accept.abort_handle());
    }

    /// Closes every proxied connection and stops accepting new ones.
    fn cut(&self) {
        for task in self.tasks.lock().expect("proxy task list").drain(..) {
            task.abort();
        }
    }
}

/// Copies bytes both ways between a client and the real server.
async fn forward(mut client: UnixStream, server: PgConnectOptions) {
    let socket = server
        .get_socket()
        .map(|directory| directory.join(format!(".s.PGSQL.{}", server.get_port())));
    let copied = match socket {
        Some(path) => match UnixStream::connect(path).await {
            Ok(mut upstream) => copy_bidirectional(&mut client, &mut upstream).await,
            Err(error) => Err(error),
        },
        None => match TcpStream::connect((server.get_host(), server.get_port())).await {
            Ok(mut upstream) => copy_bidirectional(&mut client, &mut upstream).await,
            Err(error) => Err(error),
        },
    };
    if let Err(error) = copied {
        eprintln!("proxy connection ended: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_server_is_unavailable_until_it_returns() {
    let Some((schema, store)) = open().await else {
        return;
    };
    store
        .insert_code(hash("code"), code(grant_id(1)))
        .await
        .unwrap();
    let proxy = Proxy::start(&schema.url);
    let options = StoreOptions::default().acquire_timeout(Duration::from_secs(1));
    let behind_proxy = PostgresStore::connect_with(&proxy.url(&schema.url), &options)
        .await
        .unwrap();
    assert!(behind_proxy.code(hash("code")).await.unwrap().is_some());

    proxy.cut();
    let read = behind_proxy.code(hash("code")).await;
    let write = behind_proxy
        .redeem_code(
            hash("code"),
            NOW,
            grant(grant_id(1)),
            tokens(grant_id(1), "a"),
        )
        .await;

    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    assert!(
        matches!(write, Err(StoreError::Unavailable(_))),
        "{write:?}"
    );
    assert!(
        !store
            .code(hash("code"))
            .await
            .unwrap()
            .expect("stored code")
            .consumed
    );

    proxy.listen();
    let outcome = behind_proxy
        .redeem_code(
            hash("code"),
            NOW,
            grant(grant_id(1)),
            tokens(grant_id(1), "a"),
        )
        .await;
    assert_eq!(
        outcome.unwrap(),
        Redemption::Redeemed,
        "the pool reconnects once the server is back"
    );
    proxy.cut();
}

#[tokio::test]
async fn unreachable_server_fails_to_connect() {
    // A socket directory with no server in it.
    let directory = tempfile::tempdir().unwrap();
    let url = format!(
        "postgres://nobody@localhost/none?host={}",
        directory.path().display()
    );
    let options = StoreOptions::default().acquire_timeout(Duration::from_secs(1));

    let result = PostgresStore::connect_with(&url, &options).await;

    assert!(
        matches!(result, Err(ConnectError::Connect(_))),
        "{result:?}"
    );
}

/// The variable that gives the child process its database URL.
const CHILD_URL_VARIABLE: &str = "PORTCULLIS_TEST_CHILD_URL";
/// The markers the child prints on standard output.
const CHILD_READY: &str = "PORTCULLIS-CHILD-READY";
const CHILD_WINS: &str = "PORTCULLIS-CHILD-WINS=";

/// Races `racers` redemptions of the code `hash("code")` and returns how many won.
async fn race_redemptions(store: Arc<PostgresStore>, label: &str, racers: usize) -> usize {
    let code_grant = grant_id(0);
    let mut tasks = JoinSet::new();
    for racer in 0..racers {
        let store = Arc::clone(&store);
        let issued = tokens(code_grant, &format!("{label} {racer}"));
        tasks.spawn(async move {
            store
                .redeem_code(hash("code"), NOW, grant(code_grant), issued)
                .await
        });
    }
    let mut wins = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("racer task") {
            Ok(Redemption::Redeemed) => wins += 1,
            Ok(Redemption::AlreadyUsed(id)) => assert_eq!(id, code_grant),
            other => panic!("unexpected redemption outcome {other:?}"),
        }
    }
    wins
}

/// Races redemptions as the second process of `two_processes_redeem_one_code_once`.
///
/// Returns at once when run on its own, without the child URL variable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "started as a child process by two_processes_redeem_one_code_once"]
async fn redemption_child_process() {
    let Ok(url) = std::env::var(CHILD_URL_VARIABLE) else {
        return;
    };
    let store = Arc::new(PostgresStore::connect(&url).await.expect("child connects"));
    println!("{CHILD_READY}");
    std::io::stdout().flush().expect("flush standard output");
    let mut go = String::new();
    std::io::stdin()
        .read_line(&mut go)
        .expect("read the start signal");

    let wins = race_redemptions(store, "child", checks::RACERS / 2).await;
    println!("{CHILD_WINS}{wins}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_redeem_one_code_once() {
    let Some((schema, store)) = open().await else {
        return;
    };
    store
        .insert_code(hash("code"), code(grant_id(0)))
        .await
        .unwrap();
    let store = Arc::new(store);

    let mut child = Command::new(std::env::current_exe().expect("path of this test binary"))
        .args([
            "redemption_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD_URL_VARIABLE, &schema.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child process");
    let mut child_output = BufReader::new(child.stdout.take().expect("child stdout"));
    let mut child_input = child.stdin.take().expect("child stdin");
    wait_for_marker(&mut child_output, CHILD_READY);

    // Both processes start racing at once, 100 tasks each.
    child_input
        .write_all(b"go\n")
        .expect("send the start signal");
    let parent_wins = race_redemptions(Arc::clone(&store), "parent", checks::RACERS / 2).await;
    let child_wins = tokio::task::spawn_blocking(move || {
        let line = wait_for_marker(&mut child_output, CHILD_WINS);
        // The child writes its test summary after the marker: keep reading so
        // its writes do not fail on a closed pipe.
        std::io::copy(&mut child_output, &mut std::io::sink()).expect("read the child's output");
        let count = line
            .split(CHILD_WINS)
            .nth(1)
            .expect("count after the marker");
        count.trim().parse::<usize>().expect("child win count")
    })
    .await
    .expect("read the child's result");

    let status = child.wait().expect("wait for the child process");
    assert!(status.success(), "child process failed: {status}");
    assert_eq!(
        parent_wins + child_wins,
        1,
        "parent won {parent_wins}, child won {child_wins}"
    );
}

/// Reads lines until one contains `marker` and returns it.
///
/// # Panics
///
/// When the output ends first, which means the child failed before the marker.
fn wait_for_marker(output: &mut impl BufRead, marker: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let read = output
            .read_line(&mut line)
            .expect("read the child's output");
        assert!(read > 0, "child process ended before printing {marker}");
        if line.contains(marker) {
            return line;
        }
    }
}
