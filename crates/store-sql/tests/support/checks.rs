//! Behaviour checks that every engine must pass, generic over the store.
//!
//! Each check starts from an empty database and panics on the first failure.

use std::sync::Arc;

use portcullis_grants::{ClientOrigin, ResourceId, SecretHash, Timestamp, UserId};
use portcullis_scopes::ScopeSet;
use portcullis_server_core::{AccountStore, Redemption, Rotation, Store, StoreError};
use tokio::task::JoinSet;

use super::{NOW, client, code, grant, grant_id, hash, pending, session, tokens};

/// How many tasks race for one code, refresh token or pending request.
pub(crate) const RACERS: usize = 200;

pub(crate) async fn client_round_trips<S: Store>(store: &S) {
    let confidential = client("dashboard");
    let mut public = client("cli");
    public.secret_hash = None;
    public.redirect_uris.clear();
    public.origin = ClientOrigin::Dynamic;
    public.scope = ScopeSet::from_bits(u128::MAX);

    store.insert_client(confidential.clone()).await.unwrap();
    store.insert_client(public.clone()).await.unwrap();

    assert_eq!(store.client("dashboard").await.unwrap(), Some(confidential));
    assert_eq!(store.client("cli").await.unwrap(), Some(public));
    assert_eq!(store.client("unknown").await.unwrap(), None);
}

pub(crate) async fn duplicate_client_conflicts<S: Store>(store: &S) {
    store.insert_client(client("dashboard")).await.unwrap();
    let mut second = client("dashboard");
    second.name = "another app".to_owned();

    let result = store.insert_client(second).await;

    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert_eq!(
        store.client("dashboard").await.unwrap(),
        Some(client("dashboard"))
    );
}

pub(crate) async fn code_round_trips<S: Store>(store: &S) {
    let record = code(grant_id(1));
    store
        .insert_code(hash("code"), record.clone())
        .await
        .unwrap();

    let stored = store
        .code(hash("code"))
        .await
        .unwrap()
        .expect("stored code");
    assert_eq!(stored.record, record);
    assert!(!stored.consumed);
    assert_eq!(store.code(hash("other code")).await.unwrap(), None);
}

pub(crate) async fn duplicate_code_conflicts<S: Store>(store: &S) {
    store
        .insert_code(hash("code"), code(grant_id(1)))
        .await
        .unwrap();

    let result = store.insert_code(hash("code"), code(grant_id(2))).await;

    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
}

pub(crate) async fn redeem_code_stores_grant_and_tokens<S: Store>(store: &S) {
    let id = grant_id(1);
    let issued = tokens(id, "first");
    store.insert_code(hash("code"), code(id)).await.unwrap();

    let outcome = store
        .redeem_code(hash("code"), NOW, grant(id), issued)
        .await
        .unwrap();

    assert_eq!(outcome, Redemption::Redeemed);
    assert!(
        store
            .code(hash("code"))
            .await
            .unwrap()
            .expect("code tombstone")
            .consumed
    );
    assert_eq!(store.grant(id).await.unwrap(), Some(grant(id)));
    assert_eq!(
        store.access_token(issued.access_hash).await.unwrap(),
        Some(issued.access)
    );
    let refresh = store.refresh_token(issued.refresh_hash).await.unwrap();
    assert_eq!(
        refresh,
        Some((issued.refresh, portcullis_grants::RefreshState::Active))
    );
}

pub(crate) async fn second_redemption_reports_grant<S: Store>(store: &S) {
    let id = grant_id(1);
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), tokens(id, "first"))
        .await
        .unwrap();
    let replay = tokens(id, "replay");

    let outcome = store
        .redeem_code(hash("code"), NOW, grant(id), replay)
        .await
        .unwrap();

    assert_eq!(outcome, Redemption::AlreadyUsed(id));
    assert_eq!(store.access_token(replay.access_hash).await.unwrap(), None);
    assert_eq!(
        store.refresh_token(replay.refresh_hash).await.unwrap(),
        None
    );
}

pub(crate) async fn unknown_code_redeems_nothing<S: Store>(store: &S) {
    let id = grant_id(1);
    let issued = tokens(id, "first");

    let outcome = store
        .redeem_code(hash("missing"), NOW, grant(id), issued)
        .await
        .unwrap();

    assert_eq!(outcome, Redemption::Unknown);
    assert_eq!(store.grant(id).await.unwrap(), None);
    assert_eq!(store.access_token(issued.access_hash).await.unwrap(), None);
}

/// Races [`RACERS`] redemptions of one code, each with its own grant id and tokens.
pub(crate) async fn concurrent_redemptions_have_one_winner<S>(store: Arc<S>)
where
    S: Store + 'static,
{
    let code_grant = grant_id(0);
    store
        .insert_code(hash("code"), code(code_grant))
        .await
        .unwrap();

    let mut racers = JoinSet::new();
    for racer in 0..RACERS {
        let store = Arc::clone(&store);
        racers.spawn(async move {
            // Every racer brings the grant id the server would, and its own tokens.
            let issued = tokens(code_grant, &format!("racer {racer}"));
            let outcome = store
                .redeem_code(hash("code"), NOW, grant(code_grant), issued)
                .await;
            (outcome, issued)
        });
    }

    let mut winners = Vec::new();
    while let Some(joined) = racers.join_next().await {
        let (outcome, issued) = joined.expect("racer task");
        match outcome {
            Ok(Redemption::Redeemed) => winners.push(issued),
            Ok(Redemption::AlreadyUsed(id)) => assert_eq!(id, code_grant),
            other => panic!("unexpected redemption outcome {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one redemption must win");
    let winner = winners[0];
    assert_eq!(
        store.access_token(winner.access_hash).await.unwrap(),
        Some(winner.access)
    );
    for racer in 0..RACERS {
        let loser = tokens(code_grant, &format!("racer {racer}"));
        if loser.access_hash != winner.access_hash {
            assert_eq!(store.access_token(loser.access_hash).await.unwrap(), None);
        }
    }
}

pub(crate) async fn rotate_refresh_replaces_the_pair<S: Store>(store: &S) {
    let id = grant_id(1);
    let first = tokens(id, "first");
    let second = tokens(id, "second");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), first)
        .await
        .unwrap();

    let outcome = store
        .rotate_refresh(first.refresh_hash, NOW, second)
        .await
        .unwrap();

    assert_eq!(outcome, Rotation::Rotated);
    let old = store.refresh_token(first.refresh_hash).await.unwrap();
    assert_eq!(
        old,
        Some((first.refresh, portcullis_grants::RefreshState::Rotated))
    );
    let new = store.refresh_token(second.refresh_hash).await.unwrap();
    assert_eq!(
        new,
        Some((second.refresh, portcullis_grants::RefreshState::Active))
    );
    assert_eq!(
        store.access_token(second.access_hash).await.unwrap(),
        Some(second.access)
    );
}

pub(crate) async fn rotated_refresh_reports_reuse<S: Store>(store: &S) {
    let id = grant_id(1);
    let first = tokens(id, "first");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), first)
        .await
        .unwrap();
    store
        .rotate_refresh(first.refresh_hash, NOW, tokens(id, "second"))
        .await
        .unwrap();
    let third = tokens(id, "third");

    let outcome = store
        .rotate_refresh(first.refresh_hash, NOW, third)
        .await
        .unwrap();

    assert_eq!(outcome, Rotation::Reused(id));
    assert_eq!(store.refresh_token(third.refresh_hash).await.unwrap(), None);
    assert_eq!(store.access_token(third.access_hash).await.unwrap(), None);
}

pub(crate) async fn unknown_refresh_rotates_nothing<S: Store>(store: &S) {
    let id = grant_id(1);
    let issued = tokens(id, "first");

    let outcome = store
        .rotate_refresh(hash("missing"), NOW, issued)
        .await
        .unwrap();

    assert_eq!(outcome, Rotation::Unknown);
    assert_eq!(
        store.refresh_token(issued.refresh_hash).await.unwrap(),
        None
    );
}

/// Races [`RACERS`] rotations of one refresh token.
pub(crate) async fn concurrent_rotations_have_one_winner<S>(store: Arc<S>)
where
    S: Store + 'static,
{
    let id = grant_id(1);
    let first = tokens(id, "first");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), first)
        .await
        .unwrap();

    let mut racers = JoinSet::new();
    for racer in 0..RACERS {
        let store = Arc::clone(&store);
        racers.spawn(async move {
            let issued = tokens(id, &format!("racer {racer}"));
            store.rotate_refresh(first.refresh_hash, NOW, issued).await
        });
    }

    let mut winners = 0;
    while let Some(joined) = racers.join_next().await {
        match joined.expect("racer task") {
            Ok(Rotation::Rotated) => winners += 1,
            Ok(Rotation::Reused(grant)) => assert_eq!(grant, id),
            other => panic!("unexpected rotation outcome {other:?}"),
        }
    }
    assert_eq!(winners, 1, "exactly one rotation must win");
}

pub(crate) async fn revoke_grant_removes_every_token<S: Store>(store: &S) {
    let id = grant_id(1);
    let other = grant_id(2);
    let first = tokens(id, "first");
    let second = tokens(id, "second");
    let unrelated = tokens(other, "other");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .insert_code(hash("other code"), code(other))
        .await
        .unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), first)
        .await
        .unwrap();
    store
        .redeem_code(hash("other code"), NOW, grant(other), unrelated)
        .await
        .unwrap();
    store
        .rotate_refresh(first.refresh_hash, NOW, second)
        .await
        .unwrap();

    store.revoke_grant(id).await.unwrap();

    assert_eq!(store.grant(id).await.unwrap(), None);
    for pair in [first, second] {
        assert_eq!(store.access_token(pair.access_hash).await.unwrap(), None);
        assert_eq!(store.refresh_token(pair.refresh_hash).await.unwrap(), None);
    }
    let tombstone = store
        .code(hash("code"))
        .await
        .unwrap()
        .expect("code tombstone stays");
    assert!(tombstone.consumed);
    assert_eq!(store.grant(other).await.unwrap(), Some(grant(other)));
    assert_eq!(
        store.access_token(unrelated.access_hash).await.unwrap(),
        Some(unrelated.access)
    );
    assert!(
        store
            .refresh_token(unrelated.refresh_hash)
            .await
            .unwrap()
            .is_some()
    );
}

pub(crate) async fn replay_after_revocation_still_detected<S: Store>(store: &S) {
    let id = grant_id(1);
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), tokens(id, "first"))
        .await
        .unwrap();
    store.revoke_grant(id).await.unwrap();

    let outcome = store
        .redeem_code(hash("code"), NOW, grant(id), tokens(id, "again"))
        .await;

    assert_eq!(outcome.unwrap(), Redemption::AlreadyUsed(id));
    assert_eq!(store.grant(id).await.unwrap(), None);
}

pub(crate) async fn revoke_access_token_reports_presence<S: Store>(store: &S) {
    let id = grant_id(1);
    let issued = tokens(id, "first");
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), issued)
        .await
        .unwrap();

    assert!(store.revoke_access_token(issued.access_hash).await.unwrap());
    assert!(!store.revoke_access_token(issued.access_hash).await.unwrap());
    assert_eq!(store.access_token(issued.access_hash).await.unwrap(), None);
    assert!(
        store
            .refresh_token(issued.refresh_hash)
            .await
            .unwrap()
            .is_some()
    );
}

/// Stores `count` rows of every expiring kind that expire at `expires_at`.
async fn insert_expiring<S>(store: &S, label: &str, count: u8, expires_at: Timestamp)
where
    S: Store + AccountStore,
{
    for index in 0..count {
        let seed = format!("{label} {index}");
        // Grant ids 100 and up, so they never meet the ids of other checks.
        let id = grant_id(100 + index + if label == "live" { 50 } else { 0 });
        let mut record = code(id);
        record.expires_at = expires_at;
        store
            .insert_code(hash(&format!("code {seed}")), record)
            .await
            .unwrap();

        let mut issued = tokens(id, &seed);
        issued.access.expires_at = expires_at;
        issued.refresh.expires_at = expires_at;
        store
            .insert_code(hash(&format!("redeemed {seed}")), code(id))
            .await
            .unwrap();
        let outcome = store.redeem_code(hash(&format!("redeemed {seed}")), NOW, grant(id), issued);
        assert_eq!(outcome.await.unwrap(), Redemption::Redeemed);

        let mut browser = session(None);
        browser.expires_at = expires_at;
        store
            .insert_session(hash(&format!("session {seed}")), browser)
            .await
            .unwrap();
        let mut request = pending(hash(&format!("session {seed}")));
        request.expires_at = expires_at;
        store
            .insert_pending(hash(&format!("pending {seed}")), request)
            .await
            .unwrap();
    }
}

pub(crate) async fn purge_removes_only_expired_rows<S>(store: &S)
where
    S: Store + AccountStore,
{
    // Per index: two codes (one consumed by redemption), an access token, a
    // refresh token, a session and a pending request. The "redeemed" codes
    // expire at NOW + 60, so both labels keep them.
    insert_expiring(store, "expired", 3, NOW).await;
    insert_expiring(store, "live", 2, NOW.plus(1)).await;
    let expired_rows = 3 * 5;

    let removed = store.purge_expired(NOW, 1_000_000).await.unwrap();

    assert_eq!(removed, expired_rows);
    for index in 0..3 {
        let seed = format!("expired {index}");
        assert_eq!(
            store.code(hash(&format!("code {seed}"))).await.unwrap(),
            None
        );
        assert!(
            store
                .code(hash(&format!("redeemed {seed}")))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store
                .access_token(hash(&format!("access {seed}")))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .refresh_token(hash(&format!("refresh {seed}")))
                .await
                .unwrap(),
            None
        );
    }
    for index in 0..2 {
        let seed = format!("live {index}");
        assert!(
            store
                .code(hash(&format!("code {seed}")))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .access_token(hash(&format!("access {seed}")))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .refresh_token(hash(&format!("refresh {seed}")))
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .session(hash(&format!("session {seed}")), NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .pending(hash(&format!("pending {seed}")), NOW)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(store.purge_expired(NOW, 1_000_000).await.unwrap(), 0);
}

pub(crate) async fn purge_stops_at_the_limit<S>(store: &S)
where
    S: Store + AccountStore,
{
    insert_expiring(store, "expired", 4, NOW).await;
    let expired_rows = 4 * 5;

    assert_eq!(store.purge_expired(NOW, 7).await.unwrap(), 7);
    assert_eq!(store.purge_expired(NOW, 0).await.unwrap(), 0);
    assert_eq!(
        store.purge_expired(NOW, 1_000_000).await.unwrap(),
        expired_rows - 7
    );
}

pub(crate) async fn purge_removes_rotated_tombstones<S: Store>(store: &S) {
    let id = grant_id(1);
    let first = tokens(id, "first");
    let mut second = tokens(id, "second");
    second.refresh.expires_at = NOW.plus(10 * 3600);
    store.insert_code(hash("code"), code(id)).await.unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), first)
        .await
        .unwrap();
    store
        .rotate_refresh(first.refresh_hash, NOW, second)
        .await
        .unwrap();

    // An hour later the code and both access tokens have expired, and the
    // rotated refresh token stays until its own 30 days are up.
    let removed = store
        .purge_expired(NOW.plus(3600), 1_000_000)
        .await
        .unwrap();

    assert_eq!(removed, 3, "the code and both access tokens");
    assert!(
        store
            .refresh_token(first.refresh_hash)
            .await
            .unwrap()
            .is_some()
    );
    let removed = store
        .purge_expired(first.refresh.expires_at, 1_000_000)
        .await
        .unwrap();
    assert_eq!(removed, 2, "both refresh tokens");
    assert_eq!(store.refresh_token(first.refresh_hash).await.unwrap(), None);
}

pub(crate) async fn users_are_unique_by_name<S: AccountStore>(store: &S) {
    let alice = store.insert_user("alice", "$argon2id$alice").await.unwrap();
    let bob = store.insert_user("bob", "$argon2id$bob").await.unwrap();

    assert_ne!(alice.id, bob.id);
    assert_eq!(
        store.user_by_name("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user(bob.id).await.unwrap(), Some(bob));
    assert_eq!(store.user_by_name("carol").await.unwrap(), None);
    let duplicate = store.insert_user("alice", "$argon2id$other").await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict)),
        "{duplicate:?}"
    );
    assert_eq!(store.user_by_name("alice").await.unwrap(), Some(alice));
}

pub(crate) async fn sessions_expire_and_delete<S: AccountStore>(store: &S) {
    let signed_in = session(Some(UserId(u64::MAX)));
    store
        .insert_session(hash("cookie"), session(None))
        .await
        .unwrap();
    store
        .insert_session(hash("cookie"), signed_in)
        .await
        .unwrap();

    assert_eq!(
        store.session(hash("cookie"), NOW).await.unwrap(),
        Some(signed_in)
    );
    assert_eq!(
        store
            .session(hash("cookie"), signed_in.expires_at)
            .await
            .unwrap(),
        None
    );
    store.delete_session(hash("cookie")).await.unwrap();
    assert_eq!(store.session(hash("cookie"), NOW).await.unwrap(), None);
    store.delete_session(hash("cookie")).await.unwrap();
}

pub(crate) async fn pending_request_is_taken_once<S: AccountStore>(store: &S) {
    let request = pending(hash("cookie"));
    store
        .insert_pending(hash("request"), request.clone())
        .await
        .unwrap();

    assert_eq!(
        store.pending(hash("request"), NOW).await.unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        store.pending(hash("request"), NOW).await.unwrap(),
        Some(request.clone())
    );
    assert_eq!(
        store.take_pending(hash("request"), NOW).await.unwrap(),
        Some(request)
    );
    assert_eq!(
        store.take_pending(hash("request"), NOW).await.unwrap(),
        None
    );
    assert_eq!(store.pending(hash("request"), NOW).await.unwrap(), None);
}

pub(crate) async fn expired_pending_request_is_ignored<S: AccountStore>(store: &S) {
    let mut request = pending(hash("cookie"));
    request.request.state = None;
    store
        .insert_pending(hash("request"), request.clone())
        .await
        .unwrap();

    assert_eq!(
        store
            .pending(hash("request"), request.expires_at)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .take_pending(hash("request"), request.expires_at)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.pending(hash("request"), NOW).await.unwrap(),
        None,
        "taking removes it"
    );
}

/// Races [`RACERS`] takes of one pending request.
pub(crate) async fn concurrent_takes_have_one_winner<S>(store: Arc<S>)
where
    S: AccountStore + 'static,
{
    store
        .insert_pending(hash("request"), pending(hash("cookie")))
        .await
        .unwrap();

    let mut racers = JoinSet::new();
    for _ in 0..RACERS {
        let store = Arc::clone(&store);
        racers.spawn(async move { store.take_pending(hash("request"), NOW).await });
    }

    let mut winners = 0;
    while let Some(joined) = racers.join_next().await {
        if joined.expect("racer task").unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one take must get the request");
}

/// Stores the largest value of every numeric field and reads it back.
pub(crate) async fn extreme_values_round_trip<S: Store>(store: &S) {
    let id = grant_id(u8::MAX);
    let mut record = code(id);
    record.scope = ScopeSet::from_bits(u128::MAX);
    record.resource = ResourceId(u16::MAX);
    record.user = UserId(u64::MAX);
    record.expires_at = Timestamp(i64::MAX as u64);
    let mut issued = tokens(id, "extreme");
    issued.access.scope = ScopeSet::from_bits(1 << 127);
    issued.access.user = UserId(1 << 63);
    issued.access.resource = ResourceId(u16::MAX);
    store
        .insert_code(hash("code"), record.clone())
        .await
        .unwrap();
    store
        .redeem_code(hash("code"), NOW, grant(id), issued)
        .await
        .unwrap();

    let stored = store
        .code(hash("code"))
        .await
        .unwrap()
        .expect("stored code");
    assert_eq!(stored.record, record);
    assert_eq!(
        store.access_token(issued.access_hash).await.unwrap(),
        Some(issued.access)
    );
}

/// Checks that a time past `i64::MAX` seconds still counts as not expired.
pub(crate) async fn far_future_expiry_stays_live<S: AccountStore>(store: &S) {
    let mut forever = session(None);
    forever.expires_at = Timestamp(u64::MAX);
    store.insert_session(hash("cookie"), forever).await.unwrap();

    let found = store
        .session(hash("cookie"), Timestamp(i64::MAX as u64 - 1))
        .await
        .unwrap();
    assert!(found.is_some());
}

/// Returns `hash` as lowercase hex, for passing a hash to another process.
pub(crate) fn hash_hex(hash: &SecretHash) -> String {
    hash.as_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Races a rotation against a revocation of the same grant, many times over.
///
/// Whichever runs first, both must succeed (no deadlock, no error) and no
/// token of the revoked grant may survive.
pub(crate) async fn rotation_racing_revocation_leaves_no_tokens<S>(store: Arc<S>)
where
    S: Store + 'static,
{
    for round in 0..50u8 {
        let id = grant_id(round);
        let first = tokens(id, &format!("first {round}"));
        let second = tokens(id, &format!("second {round}"));
        let code_hash = hash(&format!("code {round}"));
        store.insert_code(code_hash, code(id)).await.unwrap();
        store
            .redeem_code(code_hash, NOW, grant(id), first)
            .await
            .unwrap();

        let rotating = Arc::clone(&store);
        let rotation = tokio::spawn(async move {
            rotating
                .rotate_refresh(first.refresh_hash, NOW, second)
                .await
        });
        let revoking = Arc::clone(&store);
        let revocation = tokio::spawn(async move { revoking.revoke_grant(id).await });
        let rotated = rotation.await.expect("rotation task");
        let revoked = revocation.await.expect("revocation task");

        assert!(
            matches!(rotated, Ok(Rotation::Rotated | Rotation::Unknown)),
            "round {round}: {rotated:?}"
        );
        assert!(revoked.is_ok(), "round {round}: {revoked:?}");
        assert_eq!(store.grant(id).await.unwrap(), None, "round {round}");
        for pair in [first, second] {
            let access = store.access_token(pair.access_hash).await.unwrap();
            assert_eq!(
                access, None,
                "round {round}: access token outlived its grant"
            );
            let refresh = store.refresh_token(pair.refresh_hash).await.unwrap();
            assert_eq!(
                refresh, None,
                "round {round}: refresh token outlived its grant"
            );
        }
    }
}

/// Races a purge of many expired tokens against a revocation of their grant.
///
/// Both delete the same rows, so both must succeed without deadlock and
/// leave none of the grant's tokens.
pub(crate) async fn purge_racing_revocation_succeeds<S>(store: Arc<S>)
where
    S: Store + 'static,
{
    for round in 0..20u8 {
        let id = grant_id(round);
        let code_hash = hash(&format!("code {round}"));
        let mut pairs = Vec::new();
        let mut current = tokens(id, &format!("{round} 0"));
        current.access.expires_at = NOW;
        current.refresh.expires_at = NOW;
        store.insert_code(code_hash, code(id)).await.unwrap();
        store
            .redeem_code(code_hash, NOW, grant(id), current)
            .await
            .unwrap();
        for step in 1..20 {
            let mut next = tokens(id, &format!("{round} {step}"));
            next.access.expires_at = NOW;
            next.refresh.expires_at = NOW;
            let outcome = store.rotate_refresh(current.refresh_hash, NOW, next).await;
            assert_eq!(outcome.unwrap(), Rotation::Rotated);
            pairs.push(current);
            current = next;
        }
        pairs.push(current);

        let purging = Arc::clone(&store);
        let purge = tokio::spawn(async move { purging.purge_expired(NOW, 1_000_000).await });
        let revoking = Arc::clone(&store);
        let revocation = tokio::spawn(async move { revoking.revoke_grant(id).await });
        let purged = purge.await.expect("purge task");
        let revoked = revocation.await.expect("revocation task");

        assert!(purged.is_ok(), "round {round}: {purged:?}");
        assert!(revoked.is_ok(), "round {round}: {revoked:?}");
        for pair in pairs {
            assert_eq!(store.access_token(pair.access_hash).await.unwrap(), None);
            assert_eq!(store.refresh_token(pair.refresh_hash).await.unwrap(), None);
        }
    }
}
