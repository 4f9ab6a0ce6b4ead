use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};

use portcullis_grants::{
    AccessToken, Client, CodeRecord, Grant, GrantId, RefreshState, RefreshToken, SecretHash,
    Timestamp, UserId,
};

use crate::store::{
    AccountStore, IssuedTokens, PendingAuthorization, Redemption, Rotation, Session, Store,
    StoreError, StoredCode, User,
};

type Key = [u8; 32];

#[derive(Default)]
struct Tokens {
    clients: HashMap<String, Client>,
    codes: HashMap<Key, StoredCode>,
    grants: HashMap<GrantId, Grant>,
    access: HashMap<Key, AccessToken>,
    refresh: HashMap<Key, (RefreshToken, RefreshState)>,
}

impl Tokens {
    fn insert_pair(&mut self, tokens: &IssuedTokens) {
        self.access
            .insert(*tokens.access_hash.as_bytes(), tokens.access);
        self.refresh.insert(
            *tokens.refresh_hash.as_bytes(),
            (tokens.refresh, RefreshState::Active),
        );
    }
}

#[derive(Default)]
struct Accounts {
    users: HashMap<UserId, User>,
    names: HashMap<String, UserId>,
    next_user: u64,
    sessions: HashMap<Key, Session>,
    pending: HashMap<Key, PendingAuthorization>,
}

/// A [`Store`] and [`AccountStore`] in process memory, for tests and demos.
///
/// Token state sits behind one `RwLock`, so every security decision is one
/// critical section and a bearer check is a read lock plus a hash lookup, with
/// no allocation. Everything is lost when the process exits.
///
/// ```
/// use portcullis_server_core::{MemoryStore, Store};
/// use portcullis_grants::SecretHash;
///
/// # tokio_test_block(async {
/// let store = MemoryStore::new();
/// assert_eq!(store.access_token(SecretHash::of("fltr_at_unknown")).await?, None);
/// # Ok::<(), portcullis_server_core::StoreError>(())
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Default)]
pub struct MemoryStore {
    tokens: RwLock<Tokens>,
    accounts: Mutex<Accounts>,
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tokens> {
        // A panic while holding the lock cannot leave a half-applied decision,
        // because each critical section checks before it writes.
        self.tokens.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tokens> {
        self.tokens.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, Accounts> {
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.read().clients.get(client_id).cloned())
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        let mut tokens = self.write();
        if tokens.clients.contains_key(&client.id) {
            return Err(StoreError::Conflict);
        }
        tokens.clients.insert(client.id.clone(), client);
        Ok(())
    }

    async fn insert_code(&self, hash: SecretHash, code: CodeRecord) -> Result<(), StoreError> {
        let mut tokens = self.write();
        if tokens.codes.contains_key(hash.as_bytes()) {
            return Err(StoreError::Conflict);
        }
        tokens.codes.insert(
            *hash.as_bytes(),
            StoredCode {
                record: code,
                consumed: false,
            },
        );
        Ok(())
    }

    async fn code(&self, hash: SecretHash) -> Result<Option<StoredCode>, StoreError> {
        Ok(self.read().codes.get(hash.as_bytes()).cloned())
    }

    async fn redeem_code(
        &self,
        hash: SecretHash,
        _now: Timestamp,
        grant: Grant,
        issued: IssuedTokens,
    ) -> Result<Redemption, StoreError> {
        let mut tokens = self.write();
        let Some(code) = tokens.codes.get_mut(hash.as_bytes()) else {
            return Ok(Redemption::Unknown);
        };
        if code.consumed {
            return Ok(Redemption::AlreadyUsed(code.record.grant));
        }
        code.consumed = true;
        tokens.grants.insert(grant.id, grant);
        tokens.insert_pair(&issued);
        Ok(Redemption::Redeemed)
    }

    async fn access_token(&self, hash: SecretHash) -> Result<Option<AccessToken>, StoreError> {
        Ok(self.read().access.get(hash.as_bytes()).copied())
    }

    async fn refresh_token(
        &self,
        hash: SecretHash,
    ) -> Result<Option<(RefreshToken, RefreshState)>, StoreError> {
        Ok(self.read().refresh.get(hash.as_bytes()).copied())
    }

    async fn rotate_refresh(
        &self,
        old: SecretHash,
        _now: Timestamp,
        issued: IssuedTokens,
    ) -> Result<Rotation, StoreError> {
        let mut tokens = self.write();
        let Some((token, state)) = tokens.refresh.get_mut(old.as_bytes()) else {
            return Ok(Rotation::Unknown);
        };
        if *state == RefreshState::Rotated {
            return Ok(Rotation::Reused(token.grant));
        }
        *state = RefreshState::Rotated;
        tokens.insert_pair(&issued);
        Ok(Rotation::Rotated)
    }

    async fn grant(&self, id: GrantId) -> Result<Option<Grant>, StoreError> {
        Ok(self.read().grants.get(&id).cloned())
    }

    async fn revoke_grant(&self, id: GrantId) -> Result<(), StoreError> {
        let mut tokens = self.write();
        tokens.grants.remove(&id);
        tokens.access.retain(|_, token| token.grant != id);
        tokens.refresh.retain(|_, (token, _)| token.grant != id);
        Ok(())
    }

    async fn revoke_access_token(&self, hash: SecretHash) -> Result<bool, StoreError> {
        Ok(self.write().access.remove(hash.as_bytes()).is_some())
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        let mut removed = 0;
        {
            let mut tokens = self.write();
            let tokens = &mut *tokens;
            removed += purge(&mut tokens.codes, limit, |code| {
                code.record.expires_at <= now
            });
            removed += purge(&mut tokens.access, limit - removed, |token| {
                token.expires_at <= now
            });
            removed += purge(&mut tokens.refresh, limit - removed, |(token, _)| {
                token.expires_at <= now
            });
        }
        let mut accounts = self.accounts();
        let accounts = &mut *accounts;
        removed += purge(&mut accounts.sessions, limit - removed, |session| {
            session.expires_at <= now
        });
        removed += purge(&mut accounts.pending, limit - removed, |pending| {
            pending.expires_at <= now
        });
        Ok(removed)
    }
}

/// Removes up to `limit` entries matching `expired`.
fn purge<K: Copy + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V>,
    limit: usize,
    expired: impl Fn(&V) -> bool,
) -> usize {
    let keys: Vec<K> = map
        .iter()
        .filter(|(_, value)| expired(value))
        .map(|(key, _)| *key)
        .take(limit)
        .collect();
    for key in &keys {
        map.remove(key);
    }
    keys.len()
}

impl AccountStore for MemoryStore {
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let accounts = self.accounts();
        Ok(accounts
            .names
            .get(username)
            .and_then(|id| accounts.users.get(id))
            .cloned())
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.accounts().users.get(&id).cloned())
    }

    async fn insert_user(&self, username: &str, password_hash: &str) -> Result<User, StoreError> {
        let mut accounts = self.accounts();
        if accounts.names.contains_key(username) {
            return Err(StoreError::Conflict);
        }
        accounts.next_user += 1;
        let user = User {
            id: UserId(accounts.next_user),
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
        };
        accounts.names.insert(user.username.clone(), user.id);
        accounts.users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn insert_session(&self, hash: SecretHash, session: Session) -> Result<(), StoreError> {
        self.accounts().sessions.insert(*hash.as_bytes(), session);
        Ok(())
    }

    async fn session(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .accounts()
            .sessions
            .get(hash.as_bytes())
            .filter(|session| session.expires_at > now)
            .copied())
    }

    async fn delete_session(&self, hash: SecretHash) -> Result<(), StoreError> {
        self.accounts().sessions.remove(hash.as_bytes());
        Ok(())
    }

    async fn insert_pending(
        &self,
        hash: SecretHash,
        pending: PendingAuthorization,
    ) -> Result<(), StoreError> {
        self.accounts().pending.insert(*hash.as_bytes(), pending);
        Ok(())
    }

    async fn pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        Ok(self
            .accounts()
            .pending
            .get(hash.as_bytes())
            .filter(|pending| pending.expires_at > now)
            .cloned())
    }

    async fn take_pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        Ok(self
            .accounts()
            .pending
            .remove(hash.as_bytes())
            .filter(|pending| pending.expires_at > now))
    }
}
