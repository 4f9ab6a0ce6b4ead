//! The store contract suite of `portcullis-server-core`, run on PostgreSQL
//! with a schema of its own per test.
//!
//! The suite's `store_contract_tests!` macro cannot skip a test, so the tests
//! are listed here, and `every_contract_function_runs` fails when the suite
//! gains a function this list lacks. Without `PORTCULLIS_TEST_POSTGRES_URL`
//! the tests pass after printing a notice, unless `CI` is set.

mod support;

use std::sync::Arc;

use portcullis_server_core::testing;
use portcullis_store_sql::PostgresStore;
use support::PostgresSchema;
use support::fresh::Fresh;

/// Connects a store to a new schema that lives as long as the store, or
/// returns `None` when PostgreSQL tests are skipped.
async fn fresh_store() -> Option<Fresh<PostgresStore, PostgresSchema>> {
    let schema = PostgresSchema::create().await?;
    let store = PostgresStore::connect(&schema.url)
        .await
        .expect("connect to PostgreSQL");
    Some(Fresh {
        store,
        _scratch: schema,
    })
}

/// Generates one test per contract function that takes `&store`.
macro_rules! borrowed {
    ($($check:ident),* $(,)?) => {
        const BORROWED: &[&str] = &[$(stringify!($check)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let Some(store) = fresh_store().await else { return };
                testing::$check(&store).await;
            }
        )*
    };
}

/// Generates one test per contract function that takes an `Arc` of the store.
macro_rules! shared {
    ($($check:ident),* $(,)?) => {
        const SHARED: &[&str] = &[$(stringify!($check)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let Some(store) = fresh_store().await else { return };
                testing::$check(Arc::new(store)).await;
            }
        )*
    };
}

borrowed!(
    clients_round_trip_and_conflict,
    code_is_redeemed_once,
    refresh_rotates_once,
    revoking_a_grant_removes_every_token,
    access_token_revokes_alone,
    purge_is_bounded_and_keeps_live_records,
    accounts_round_trip,
);

shared!(
    concurrent_redemptions_yield_one_pair,
    concurrent_rotations_yield_one_pair,
    pending_is_taken_once,
);

#[test]
fn every_contract_function_runs() {
    let suite = concat!(env!("CARGO_MANIFEST_DIR"), "/../server-core/src/testing.rs");
    let source = std::fs::read_to_string(suite).expect("read the contract suite source");
    let missing: Vec<&str> = source
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("pub async fn "))
        .filter_map(|rest| rest.split(['<', '(']).next())
        .filter(|name| !BORROWED.contains(name) && !SHARED.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "contract functions not run on PostgreSQL: {missing:?}"
    );
}
