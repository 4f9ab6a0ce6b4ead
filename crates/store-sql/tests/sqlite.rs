//! The store contract on SQLite, each test on a new database file.

mod support;

use std::sync::Arc;

use portcullis_server_core::{Redemption, Store, StoreError};
use portcullis_store_sql::{SqlStore, SqliteStore, StoreOptions};
use support::{NOW, checks, code, grant, grant_id, hash, sqlite_url, tokens};

/// Opens a store on a new file in a directory that must outlive the store.
async fn open() -> (tempfile::TempDir, SqliteStore) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::connect(&sqlite_url(&directory))
        .await
        .expect("open SQLite store");
    (directory, store)
}

/// Generates one test per check that takes `&store`.
macro_rules! borrowed_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $check() {
            let (_directory, store) = open().await;
            checks::$check(&store).await;
        }
    )*};
}

/// Generates one multi-threaded test per check that races tasks over an `Arc` of the store.
macro_rules! shared_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let (_directory, store) = open().await;
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
async fn first_connect_creates_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("new.db");
    assert!(!path.exists());

    let store = SqliteStore::open(&path, &StoreOptions::default())
        .await
        .unwrap();

    assert!(path.exists());
    store.close().await;
}

#[tokio::test]
async fn records_survive_reopening() {
    let directory = tempfile::tempdir().unwrap();
    let url = sqlite_url(&directory);
    let id = grant_id(1);
    let issued = tokens(id, "first");
    let store = SqliteStore::connect(&url).await.unwrap();
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), issued)
        .await
        .unwrap();
    store.close().await;

    // Reopening runs the migrations again, which must find nothing to do.
    let reopened = SqliteStore::connect(&url).await.unwrap();

    assert_eq!(
        reopened.access_token(issued.access_hash).await.unwrap(),
        Some(issued.access)
    );
    let replay = reopened
        .redeem_code(hash("code"), NOW, grant(id), tokens(id, "again"))
        .await;
    assert_eq!(replay.unwrap(), Redemption::AlreadyUsed(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_opens_migrate_once() {
    let directory = tempfile::tempdir().unwrap();
    let url = sqlite_url(&directory);

    let opened = tokio::join!(
        SqliteStore::connect(&url),
        SqliteStore::connect(&url),
        SqliteStore::connect(&url),
        SqliteStore::connect(&url),
    );

    let stores = [
        opened.0.unwrap(),
        opened.1.unwrap(),
        opened.2.unwrap(),
        opened.3.unwrap(),
    ];
    stores[0]
        .insert_code(hash("code"), code(grant_id(1)))
        .await
        .unwrap();
    for store in &stores {
        assert!(store.code(hash("code")).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn closed_store_is_unavailable() {
    let (_directory, store) = open().await;
    store.close().await;

    let result = store.access_token(hash("token")).await;

    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn missing_directory_fails_to_connect() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("missing").join("portcullis.db");

    let result = SqliteStore::open(&path, &StoreOptions::default()).await;

    assert!(
        matches!(result, Err(portcullis_store_sql::ConnectError::Connect(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn sql_store_opens_sqlite_urls() {
    let directory = tempfile::tempdir().unwrap();

    let store = SqlStore::connect(&sqlite_url(&directory)).await.unwrap();

    assert!(matches!(store, SqlStore::Sqlite(_)));
    checks::code_round_trips(&store).await;
}

#[tokio::test]
async fn sql_store_rejects_other_schemes() {
    let result = SqlStore::connect("mysql://user:secret@127.0.0.1/db").await;

    let Err(error) = result else {
        panic!("a mysql URL must be rejected");
    };
    let message = error.to_string();
    assert!(message.contains("\"mysql\""), "{message}");
    assert!(
        !message.contains("secret"),
        "the message must not echo the URL: {message}"
    );
}

#[tokio::test]
async fn write_lock_timeout_is_unavailable() {
    let directory = tempfile::tempdir().unwrap();
    let url = sqlite_url(&directory);
    let options = StoreOptions::default().busy_timeout(std::time::Duration::from_millis(100));
    let store = SqliteStore::connect_with(&url, &options).await.unwrap();
    store
        .insert_code(hash("code"), code(grant_id(1)))
        .await
        .unwrap();

    // Another connection holds the write lock for longer than the busy timeout.
    let mut blocker = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let result = store
        .redeem_code(
            hash("code"),
            NOW,
            grant(grant_id(1)),
            tokens(grant_id(1), "a"),
        )
        .await;
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();

    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    let stored = store
        .code(hash("code"))
        .await
        .unwrap()
        .expect("stored code");
    assert!(
        !stored.consumed,
        "a failed redemption must leave the code unused"
    );
}
