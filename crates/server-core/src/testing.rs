//! The contract every [`Store`] and [`AccountStore`] implementation must keep,
//! written once as async functions that take a store.
//!
//! Each function panics with a message naming the broken rule. Records use
//! random keys, so the suite can run many times against one shared database.
//! [`store_contract_tests!`](crate::store_contract_tests) expands to one
//! `#[tokio::test]` per function for a store factory.

use std::sync::Arc;

use portcullis_grants::{
    AccessToken, Client, ClientOrigin, CodeRecord, Grant, GrantId, RedirectTarget, RefreshState,
    RefreshToken, ResourceId, SecretHash, Timestamp, UserId, ValidatedAuthorization,
};
use portcullis_pkce::CodeChallenge;
use portcullis_scopes::ScopeSet;

use crate::{
    AccountStore, IssuedTokens, PendingAuthorization, Redemption, Rotation, Session, Store,
    StoreError, generate_secret,
};

const NOW: Timestamp = Timestamp(1_700_000_000);

fn random_hash() -> SecretHash {
    SecretHash::of(&generate_secret().expect("the OS random source works"))
}

fn random_grant() -> GrantId {
    let mut bytes = [0u8; 16];
    crate::fill_random(&mut bytes).expect("the OS random source works");
    GrantId(bytes)
}

/// Builds a confidential client with a random id.
pub fn sample_client() -> Client {
    Client {
        id: format!("client-{}", &generate_secret().expect("randomness")[..12]),
        name: "Contract test client".into(),
        secret_hash: Some(SecretHash::of("a secret of thirty-two characters!")),
        redirect_uris: vec![
            "https://app.example/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        scope: ScopeSet::from_bits(0b1011),
        origin: ClientOrigin::Administrator,
        created_at: NOW,
    }
}

fn code_record(grant: GrantId, client_id: &str) -> CodeRecord {
    CodeRecord {
        grant,
        client_id: client_id.to_owned(),
        redirect_uri: "http://127.0.0.1:5000/cb".into(),
        redirect_uri_sent: true,
        challenge: CodeChallenge::from_digest([9; 32]),
        scope: ScopeSet::from_bits(0b11),
        resource: ResourceId(1),
        user: UserId(42),
        issued_at: NOW,
        expires_at: NOW.plus(60),
    }
}

fn grant_record(id: GrantId, client_id: &str) -> Grant {
    Grant {
        id,
        client_id: client_id.to_owned(),
        user: UserId(42),
        scope: ScopeSet::from_bits(0b11),
        resource: ResourceId(1),
        created_at: NOW,
    }
}

fn pair(grant: GrantId, now: Timestamp) -> IssuedTokens {
    IssuedTokens {
        access_hash: random_hash(),
        access: AccessToken {
            grant,
            user: UserId(42),
            scope: ScopeSet::from_bits(0b1),
            resource: ResourceId(1),
            issued_at: now,
            expires_at: now.plus(3600),
        },
        refresh_hash: random_hash(),
        refresh: RefreshToken {
            grant,
            issued_at: now,
            expires_at: now.plus(86_400),
        },
    }
}

/// Stores a client and a code for it, returning the code hash and grant.
async fn seeded_code<S: Store>(store: &S) -> (Client, SecretHash, GrantId) {
    let client = sample_client();
    store
        .insert_client(client.clone())
        .await
        .expect("insert_client");
    let grant = random_grant();
    let hash = random_hash();
    store
        .insert_code(hash, code_record(grant, &client.id))
        .await
        .expect("insert_code");
    (client, hash, grant)
}

/// Redeems a code into a grant with one token pair, returning both.
async fn redeemed_grant<S: Store>(store: &S) -> (Client, GrantId, IssuedTokens) {
    let (client, hash, grant) = seeded_code(store).await;
    let tokens = pair(grant, NOW);
    let outcome = store
        .redeem_code(hash, NOW, grant_record(grant, &client.id), tokens)
        .await;
    assert_eq!(outcome.expect("redeem_code"), Redemption::Redeemed);
    (client, grant, tokens)
}

/// Clients round-trip, and a second client with the same id is a conflict.
pub async fn clients_round_trip_and_conflict<S: Store>(store: &S) {
    let client = sample_client();
    store
        .insert_client(client.clone())
        .await
        .expect("insert_client");
    assert_eq!(
        store.client(&client.id).await.expect("client"),
        Some(client.clone()),
        "client round trip"
    );
    let mut public = sample_client();
    public.secret_hash = None;
    public.origin = ClientOrigin::Dynamic;
    store
        .insert_client(public.clone())
        .await
        .expect("insert public client");
    assert_eq!(
        store.client(&public.id).await.expect("client"),
        Some(public),
        "public client round trip"
    );
    assert!(
        matches!(store.insert_client(client).await, Err(StoreError::Conflict)),
        "a duplicate client_id must be a conflict"
    );
    assert_eq!(store.client("no-such-client").await.expect("client"), None);
}

/// A code is redeemed once; the second call returns `AlreadyUsed` and writes nothing.
pub async fn code_is_redeemed_once<S: Store>(store: &S) {
    let (client, hash, grant) = seeded_code(store).await;
    let stored = store
        .code(hash)
        .await
        .expect("code")
        .expect("the code is stored");
    assert!(!stored.consumed);
    assert_eq!(
        stored.record,
        code_record(grant, &client.id),
        "code record round trip"
    );

    let first = pair(grant, NOW);
    let outcome = store
        .redeem_code(hash, NOW, grant_record(grant, &client.id), first)
        .await;
    assert_eq!(outcome.expect("redeem"), Redemption::Redeemed);
    assert_eq!(
        store.access_token(first.access_hash).await.expect("access"),
        Some(first.access)
    );
    assert_eq!(
        store
            .refresh_token(first.refresh_hash)
            .await
            .expect("refresh"),
        Some((first.refresh, RefreshState::Active))
    );
    assert_eq!(
        store.grant(grant).await.expect("grant"),
        Some(grant_record(grant, &client.id))
    );

    let second = pair(grant, NOW);
    let outcome = store
        .redeem_code(hash, NOW, grant_record(grant, &client.id), second)
        .await;
    assert_eq!(
        outcome.expect("redeem again"),
        Redemption::AlreadyUsed(grant)
    );
    assert_eq!(
        store
            .access_token(second.access_hash)
            .await
            .expect("access"),
        None,
        "no second pair"
    );
    let tombstone = store
        .code(hash)
        .await
        .expect("code")
        .expect("the tombstone stays");
    assert!(tombstone.consumed, "a redeemed code is marked consumed");

    let unknown = store
        .redeem_code(
            random_hash(),
            NOW,
            grant_record(random_grant(), &client.id),
            pair(grant, NOW),
        )
        .await;
    assert_eq!(unknown.expect("redeem unknown"), Redemption::Unknown);
}

/// Of 200 concurrent redemptions of one code, exactly one succeeds.
pub async fn concurrent_redemptions_yield_one_pair<S: Store + 'static>(store: Arc<S>) {
    let (client, hash, grant) = seeded_code(&*store).await;
    let attempts: Vec<_> = (0..200)
        .map(|_| {
            let store = Arc::clone(&store);
            let client_id = client.id.clone();
            tokio::spawn(async move {
                let tokens = pair(grant, NOW);
                let outcome = store
                    .redeem_code(hash, NOW, grant_record(grant, &client_id), tokens)
                    .await;
                (outcome, tokens)
            })
        })
        .collect();
    let mut redeemed = Vec::new();
    for attempt in attempts {
        let (outcome, tokens) = attempt.await.expect("task");
        match outcome.expect("redeem_code must not fail under contention") {
            Redemption::Redeemed => redeemed.push(tokens),
            Redemption::AlreadyUsed(seen) => assert_eq!(seen, grant),
            Redemption::Unknown => panic!("a stored code was reported unknown"),
        }
    }
    assert_eq!(redeemed.len(), 1, "exactly one redemption wins");
    let winner = redeemed[0];
    assert!(
        store
            .access_token(winner.access_hash)
            .await
            .expect("access")
            .is_some()
    );
}

/// A refresh token rotates once; presenting it again returns `Reused`.
pub async fn refresh_rotates_once<S: Store>(store: &S) {
    let (_, grant, first) = redeemed_grant(store).await;
    let later = NOW.plus(100);
    let second = pair(grant, later);
    assert_eq!(
        store
            .rotate_refresh(first.refresh_hash, later, second)
            .await
            .expect("rotate"),
        Rotation::Rotated
    );
    assert_eq!(
        store
            .refresh_token(first.refresh_hash)
            .await
            .expect("refresh"),
        Some((first.refresh, RefreshState::Rotated)),
        "the old token stays as a rotated tombstone"
    );
    assert_eq!(
        store
            .refresh_token(second.refresh_hash)
            .await
            .expect("refresh"),
        Some((second.refresh, RefreshState::Active))
    );
    assert_eq!(
        store
            .access_token(second.access_hash)
            .await
            .expect("access"),
        Some(second.access)
    );

    let third = pair(grant, later);
    let outcome = store
        .rotate_refresh(first.refresh_hash, later, third)
        .await
        .expect("rotate again");
    assert_eq!(outcome, Rotation::Reused(grant));
    assert_eq!(
        store.access_token(third.access_hash).await.expect("access"),
        None,
        "nothing written on reuse"
    );
    assert_eq!(
        store
            .rotate_refresh(random_hash(), later, third)
            .await
            .expect("rotate unknown"),
        Rotation::Unknown
    );
}

/// Of 50 concurrent rotations of one refresh token, exactly one succeeds.
pub async fn concurrent_rotations_yield_one_pair<S: Store + 'static>(store: Arc<S>) {
    let (_, grant, first) = redeemed_grant(&*store).await;
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .rotate_refresh(first.refresh_hash, NOW, pair(grant, NOW))
                    .await
            })
        })
        .collect();
    let mut rotated = 0;
    for attempt in attempts {
        match attempt
            .await
            .expect("task")
            .expect("rotate_refresh must not fail under contention")
        {
            Rotation::Rotated => rotated += 1,
            Rotation::Reused(seen) => assert_eq!(seen, grant),
            Rotation::Unknown => panic!("a stored refresh token was reported unknown"),
        }
    }
    assert_eq!(rotated, 1, "exactly one rotation wins");
}

/// Revoking a grant removes its grant record and every token, but not the code tombstone.
pub async fn revoking_a_grant_removes_every_token<S: Store>(store: &S) {
    let (client, hash, grant) = seeded_code(store).await;
    let first = pair(grant, NOW);
    store
        .redeem_code(hash, NOW, grant_record(grant, &client.id), first)
        .await
        .expect("redeem");
    let second = pair(grant, NOW);
    store
        .rotate_refresh(first.refresh_hash, NOW, second)
        .await
        .expect("rotate");
    let (_, other_grant, other) = redeemed_grant(store).await;

    store.revoke_grant(grant).await.expect("revoke_grant");
    assert_eq!(store.grant(grant).await.expect("grant"), None);
    for access in [first.access_hash, second.access_hash] {
        assert_eq!(
            store.access_token(access).await.expect("access"),
            None,
            "access token revoked"
        );
    }
    for refresh in [first.refresh_hash, second.refresh_hash] {
        assert_eq!(
            store.refresh_token(refresh).await.expect("refresh"),
            None,
            "refresh token revoked"
        );
    }
    assert!(
        store
            .code(hash)
            .await
            .expect("code")
            .is_some_and(|code| code.consumed),
        "tombstone kept"
    );
    assert!(
        store.grant(other_grant).await.expect("grant").is_some(),
        "other grants untouched"
    );
    assert!(
        store
            .access_token(other.access_hash)
            .await
            .expect("access")
            .is_some()
    );
    store
        .revoke_grant(grant)
        .await
        .expect("revoking twice is not an error");
}

/// One access token can be revoked alone.
pub async fn access_token_revokes_alone<S: Store>(store: &S) {
    let (_, grant, tokens) = redeemed_grant(store).await;
    assert!(
        store
            .revoke_access_token(tokens.access_hash)
            .await
            .expect("revoke")
    );
    assert!(
        !store
            .revoke_access_token(tokens.access_hash)
            .await
            .expect("revoke twice")
    );
    assert_eq!(
        store
            .access_token(tokens.access_hash)
            .await
            .expect("access"),
        None
    );
    assert!(
        store
            .refresh_token(tokens.refresh_hash)
            .await
            .expect("refresh")
            .is_some()
    );
    assert!(store.grant(grant).await.expect("grant").is_some());
}

/// Purging removes expired records in bounded batches and keeps live ones.
pub async fn purge_is_bounded_and_keeps_live_records<S: Store>(store: &S) {
    let (_, _, live) = redeemed_grant(store).await;
    let far_future = Timestamp(u64::MAX / 4);
    let mut total = 0;
    loop {
        let removed = store.purge_expired(far_future, 3).await.expect("purge");
        assert!(
            removed <= 3,
            "a batch removes at most its limit, removed {removed}"
        );
        total += removed;
        if removed == 0 {
            break;
        }
    }
    assert!(total >= 3, "the expired code and tokens were purged");
    assert_eq!(
        store.access_token(live.access_hash).await.expect("access"),
        None
    );

    let (_, _, fresh) = redeemed_grant(store).await;
    store.purge_expired(NOW, 1000).await.expect("purge at NOW");
    assert!(
        store
            .access_token(fresh.access_hash)
            .await
            .expect("access")
            .is_some(),
        "live token kept"
    );
}

/// Users, sessions and pending requests behave as [`AccountStore`] documents.
pub async fn accounts_round_trip<S: AccountStore>(store: &S) {
    let name = format!("user-{}", &generate_secret().expect("randomness")[..10]);
    let user = store
        .insert_user(&name, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        .await
        .expect("insert_user");
    assert_eq!(
        store.user_by_name(&name).await.expect("by name"),
        Some(user.clone())
    );
    assert_eq!(
        store.user(user.id).await.expect("by id"),
        Some(user.clone())
    );
    assert!(
        matches!(
            store.insert_user(&name, "x").await,
            Err(StoreError::Conflict)
        ),
        "duplicate name"
    );

    let session_hash = random_hash();
    let session = Session {
        user: Some(user.id),
        created_at: NOW,
        expires_at: NOW.plus(60),
    };
    store
        .insert_session(session_hash, session)
        .await
        .expect("insert_session");
    assert_eq!(
        store.session(session_hash, NOW).await.expect("session"),
        Some(session)
    );
    assert_eq!(
        store
            .session(session_hash, NOW.plus(60))
            .await
            .expect("session"),
        None,
        "expired"
    );
    store
        .delete_session(session_hash)
        .await
        .expect("delete_session");
    assert_eq!(
        store.session(session_hash, NOW).await.expect("session"),
        None
    );

    let pending_hash = random_hash();
    let pending = sample_pending(session_hash);
    store
        .insert_pending(pending_hash, pending.clone())
        .await
        .expect("insert_pending");
    assert_eq!(
        store.pending(pending_hash, NOW).await.expect("pending"),
        Some(pending.clone())
    );
    assert_eq!(
        store
            .pending(pending_hash, pending.expires_at)
            .await
            .expect("pending"),
        None,
        "expired"
    );
    assert_eq!(
        store.take_pending(pending_hash, NOW).await.expect("take"),
        Some(pending)
    );
    assert_eq!(
        store
            .take_pending(pending_hash, NOW)
            .await
            .expect("take again"),
        None,
        "single use"
    );
}

/// Of 20 concurrent takes of one pending request, exactly one gets it.
pub async fn pending_is_taken_once<S: AccountStore + 'static>(store: Arc<S>) {
    let hash = random_hash();
    store
        .insert_pending(hash, sample_pending(random_hash()))
        .await
        .expect("insert_pending");
    let takes: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.take_pending(hash, NOW).await })
        })
        .collect();
    let mut taken = 0;
    for take in takes {
        if take.await.expect("task").expect("take_pending").is_some() {
            taken += 1;
        }
    }
    assert_eq!(taken, 1, "a pending request is taken once");
}

fn sample_pending(session: SecretHash) -> PendingAuthorization {
    PendingAuthorization {
        request: ValidatedAuthorization {
            client_id: "client".into(),
            redirect: RedirectTarget {
                uri: "http://127.0.0.1:5000/cb".into(),
                sent: true,
            },
            state: Some("a b+c".into()),
            challenge: CodeChallenge::from_digest([3; 32]),
            scope: ScopeSet::from_bits(0b101),
            resource: ResourceId(0),
        },
        session,
        expires_at: NOW.plus(600),
    }
}

/// Expands to one `#[tokio::test]` per contract function for a store factory.
///
/// `$make` is an async expression that yields a fresh store implementing both
/// [`Store`] and [`AccountStore`].
///
/// ```ignore
/// portcullis_server_core::store_contract_tests!(async { portcullis_server_core::MemoryStore::new() });
/// ```
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn clients_round_trip_and_conflict() {
            $crate::testing::clients_round_trip_and_conflict(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn code_is_redeemed_once() {
            $crate::testing::code_is_redeemed_once(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_redemptions_yield_one_pair() {
            $crate::testing::concurrent_redemptions_yield_one_pair(std::sync::Arc::new(
                $make.await,
            ))
            .await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn refresh_rotates_once() {
            $crate::testing::refresh_rotates_once(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_rotations_yield_one_pair() {
            $crate::testing::concurrent_rotations_yield_one_pair(std::sync::Arc::new($make.await))
                .await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn revoking_a_grant_removes_every_token() {
            $crate::testing::revoking_a_grant_removes_every_token(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn access_token_revokes_alone() {
            $crate::testing::access_token_revokes_alone(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn purge_is_bounded_and_keeps_live_records() {
            $crate::testing::purge_is_bounded_and_keeps_live_records(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn accounts_round_trip() {
            $crate::testing::accounts_round_trip(&$make.await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn pending_is_taken_once() {
            $crate::testing::pending_is_taken_once(std::sync::Arc::new($make.await)).await;
        }
    };
}
