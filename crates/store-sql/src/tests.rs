//! Failure injection: a write that fails between two of its statements leaves
//! the database as it was, on both engines.

use portcullis_grants::RefreshState;
use portcullis_server_core::{Redemption, Rotation, Store, StoreError};

use crate::fault::{FaultPoint, Faults};
use crate::support::{NOW, PostgresSchema, code, grant, grant_id, hash, sqlite_url, tokens};
use crate::{PostgresStore, SqliteStore};

/// A store whose writes can be made to fail at a [`FaultPoint`].
trait Injectable: Store {
    fn faults(&self) -> &Faults;
}

impl Injectable for SqliteStore {
    fn faults(&self) -> &Faults {
        Self::faults(self)
    }
}

impl Injectable for PostgresStore {
    fn faults(&self) -> &Faults {
        Self::faults(self)
    }
}

fn assert_injected<T: std::fmt::Debug>(result: Result<T, StoreError>, point: FaultPoint) {
    match result {
        Err(StoreError::Backend(error)) => {
            assert!(error.to_string().contains("injected"), "{error}")
        }
        other => panic!("expected the failure injected at {point:?}, got {other:?}"),
    }
}

async fn failed_redemption_writes_nothing<S: Injectable>(store: &S) {
    let id = grant_id(1);
    let issued = tokens(id, "first");
    store.insert_code(hash("code"), code(id)).await.unwrap();

    for point in [
        FaultPoint::CodeConsumed,
        FaultPoint::GrantInserted,
        FaultPoint::AccessInserted,
    ] {
        store.faults().arm(point);
        let result = store
            .redeem_code(hash("code"), NOW, grant(id), issued)
            .await;

        assert_injected(result, point);
        let stored = store
            .code(hash("code"))
            .await
            .unwrap()
            .expect("stored code");
        assert!(
            !stored.consumed,
            "code consumed after a failure at {point:?}"
        );
        assert_eq!(
            store.grant(id).await.unwrap(),
            None,
            "grant after a failure at {point:?}"
        );
        assert_eq!(
            store.access_token(issued.access_hash).await.unwrap(),
            None,
            "{point:?}"
        );
        assert_eq!(
            store.refresh_token(issued.refresh_hash).await.unwrap(),
            None,
            "{point:?}"
        );
    }

    let outcome = store
        .redeem_code(hash("code"), NOW, grant(id), issued)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Redemption::Redeemed,
        "the code stays redeemable after failures"
    );
}

async fn failed_rotation_writes_nothing<S: Injectable>(store: &S) {
    let id = grant_id(1);
    let first = tokens(id, "first");
    let second = tokens(id, "second");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), first)
        .await
        .unwrap();

    for point in [FaultPoint::RefreshRotated, FaultPoint::AccessInserted] {
        store.faults().arm(point);
        let result = store.rotate_refresh(first.refresh_hash, NOW, second).await;

        assert_injected(result, point);
        let old = store.refresh_token(first.refresh_hash).await.unwrap();
        assert_eq!(
            old,
            Some((first.refresh, RefreshState::Active)),
            "{point:?}"
        );
        assert_eq!(
            store.access_token(second.access_hash).await.unwrap(),
            None,
            "{point:?}"
        );
        assert_eq!(
            store.refresh_token(second.refresh_hash).await.unwrap(),
            None,
            "{point:?}"
        );
    }

    let outcome = store
        .rotate_refresh(first.refresh_hash, NOW, second)
        .await
        .unwrap();
    assert_eq!(
        outcome,
        Rotation::Rotated,
        "the token stays usable after failures"
    );
}

async fn failed_revocation_removes_nothing<S: Injectable>(store: &S) {
    let id = grant_id(1);
    let issued = tokens(id, "first");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), issued)
        .await
        .unwrap();

    store.faults().arm(FaultPoint::GrantDeleted);
    let result = store.revoke_grant(id).await;

    assert_injected(result, FaultPoint::GrantDeleted);
    assert_eq!(store.grant(id).await.unwrap(), Some(grant(id)));
    assert_eq!(
        store.access_token(issued.access_hash).await.unwrap(),
        Some(issued.access)
    );
    assert!(
        store
            .refresh_token(issued.refresh_hash)
            .await
            .unwrap()
            .is_some()
    );
}

async fn open_sqlite() -> (tempfile::TempDir, SqliteStore) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::connect(&sqlite_url(&directory))
        .await
        .expect("open SQLite store");
    (directory, store)
}

async fn open_postgres() -> Option<(PostgresSchema, PostgresStore)> {
    let schema = PostgresSchema::create().await?;
    let store = PostgresStore::connect(&schema.url)
        .await
        .expect("connect to PostgreSQL");
    Some((schema, store))
}

#[tokio::test]
async fn sqlite_failed_redemption_writes_nothing() {
    let (_directory, store) = open_sqlite().await;
    failed_redemption_writes_nothing(&store).await;
}

#[tokio::test]
async fn sqlite_failed_rotation_writes_nothing() {
    let (_directory, store) = open_sqlite().await;
    failed_rotation_writes_nothing(&store).await;
}

#[tokio::test]
async fn sqlite_failed_revocation_removes_nothing() {
    let (_directory, store) = open_sqlite().await;
    failed_revocation_removes_nothing(&store).await;
}

#[tokio::test]
async fn postgres_failed_redemption_writes_nothing() {
    let Some((_schema, store)) = open_postgres().await else {
        return;
    };
    failed_redemption_writes_nothing(&store).await;
}

#[tokio::test]
async fn postgres_failed_rotation_writes_nothing() {
    let Some((_schema, store)) = open_postgres().await else {
        return;
    };
    failed_rotation_writes_nothing(&store).await;
}

#[tokio::test]
async fn postgres_failed_revocation_removes_nothing() {
    let Some((_schema, store)) = open_postgres().await else {
        return;
    };
    failed_revocation_removes_nothing(&store).await;
}
