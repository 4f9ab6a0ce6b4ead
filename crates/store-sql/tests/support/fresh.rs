//! A store bundled with the scratch database it runs on.

use std::future::Future;

use portcullis_grants::{
    AccessToken, Client, CodeRecord, Grant, GrantId, RefreshState, RefreshToken, SecretHash,
    Timestamp, UserId,
};
use portcullis_server_core::{
    AccountStore, IssuedTokens, PendingAuthorization, Redemption, Rotation, Session, Store,
    StoreError, StoredCode, User,
};

/// A store that keeps its scratch database (a temporary directory or a
/// PostgreSQL schema) until the store itself is dropped.
///
/// The contract suite's test macro takes a factory that returns only a store,
/// so the scratch database has to travel inside it.
pub(crate) struct Fresh<S, Scratch> {
    pub(crate) store: S,
    pub(crate) _scratch: Scratch,
}

impl<S: Store, Scratch: Send + Sync> Store for Fresh<S, Scratch> {
    fn client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<Client>, StoreError>> + Send {
        self.store.client(client_id)
    }

    fn insert_client(&self, client: Client) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.insert_client(client)
    }

    fn insert_code(
        &self,
        hash: SecretHash,
        code: CodeRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.insert_code(hash, code)
    }

    fn code(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<Option<StoredCode>, StoreError>> + Send {
        self.store.code(hash)
    }

    fn redeem_code(
        &self,
        hash: SecretHash,
        now: Timestamp,
        grant: Grant,
        tokens: IssuedTokens,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send {
        self.store.redeem_code(hash, now, grant, tokens)
    }

    fn access_token(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<Option<AccessToken>, StoreError>> + Send {
        self.store.access_token(hash)
    }

    fn refresh_token(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<Option<(RefreshToken, RefreshState)>, StoreError>> + Send {
        self.store.refresh_token(hash)
    }

    fn rotate_refresh(
        &self,
        old: SecretHash,
        now: Timestamp,
        tokens: IssuedTokens,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send {
        self.store.rotate_refresh(old, now, tokens)
    }

    fn grant(&self, id: GrantId) -> impl Future<Output = Result<Option<Grant>, StoreError>> + Send {
        self.store.grant(id)
    }

    fn revoke_grant(&self, id: GrantId) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.revoke_grant(id)
    }

    fn revoke_access_token(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        self.store.revoke_access_token(hash)
    }

    fn purge_expired(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.store.purge_expired(now, limit)
    }
}

impl<S: AccountStore, Scratch: Send + Sync> AccountStore for Fresh<S, Scratch> {
    fn user_by_name(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
        self.store.user_by_name(username)
    }

    fn user(&self, id: UserId) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
        self.store.user(id)
    }

    fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
    ) -> impl Future<Output = Result<User, StoreError>> + Send {
        self.store.insert_user(username, password_hash)
    }

    fn insert_session(
        &self,
        hash: SecretHash,
        session: Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.insert_session(hash, session)
    }

    fn session(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send {
        self.store.session(hash, now)
    }

    fn delete_session(
        &self,
        hash: SecretHash,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.delete_session(hash)
    }

    fn insert_pending(
        &self,
        hash: SecretHash,
        pending: PendingAuthorization,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.store.insert_pending(hash, pending)
    }

    fn pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, StoreError>> + Send {
        self.store.pending(hash, now)
    }

    fn take_pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, StoreError>> + Send {
        self.store.take_pending(hash, now)
    }
}
