use portcullis_grants::{
    AccessToken, Client, CodeRecord, Grant, GrantId, RefreshState, RefreshToken, SecretHash,
    Timestamp, UserId,
};
use portcullis_server_core::{
    AccountStore, IssuedTokens, PendingAuthorization, Redemption, Rotation, Session, Store,
    StoreError, StoredCode, User,
};

use crate::error::ConnectError;
use crate::options::StoreOptions;
use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;

/// A SQL store whose engine is chosen at run time from a database URL.
#[derive(Debug)]
#[non_exhaustive]
pub enum SqlStore {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl SqlStore {
    /// Connects with default options, as [`SqlStore::connect_with`] does.
    ///
    /// # Errors
    ///
    /// The errors of [`SqlStore::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// Opens `sqlite:PATH` (creating the file on first start) or connects to
    /// `postgres://...` / `postgresql://...`, then applies migrations.
    ///
    /// # Errors
    ///
    /// [`ConnectError::UnsupportedScheme`] for any other URL, and the errors of
    /// [`SqliteStore::connect_with`] or [`PostgresStore::connect_with`].
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self, ConnectError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Self::Sqlite(SqliteStore::connect_with(url, options).await?)),
            "postgres" | "postgresql" => Ok(Self::Postgres(
                PostgresStore::connect_with(url, options).await?,
            )),
            _ => Err(ConnectError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            }),
        }
    }

    /// Closes every pooled connection and waits until they are closed.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}

/// Calls the same method on whichever engine `$store` holds.
macro_rules! dispatch {
    ($store:expr, $inner:ident => $call:expr) => {
        match $store {
            SqlStore::Sqlite($inner) => $call.await,
            SqlStore::Postgres($inner) => $call.await,
        }
    };
}

impl Store for SqlStore {
    async fn client(&self, client_id: &str) -> Result<Option<Client>, StoreError> {
        dispatch!(self, store => store.client(client_id))
    }

    async fn insert_client(&self, client: Client) -> Result<(), StoreError> {
        dispatch!(self, store => store.insert_client(client))
    }

    async fn insert_code(&self, hash: SecretHash, code: CodeRecord) -> Result<(), StoreError> {
        dispatch!(self, store => store.insert_code(hash, code))
    }

    async fn code(&self, hash: SecretHash) -> Result<Option<StoredCode>, StoreError> {
        dispatch!(self, store => store.code(hash))
    }

    async fn redeem_code(
        &self,
        hash: SecretHash,
        now: Timestamp,
        grant: Grant,
        tokens: IssuedTokens,
    ) -> Result<Redemption, StoreError> {
        dispatch!(self, store => store.redeem_code(hash, now, grant, tokens))
    }

    async fn access_token(&self, hash: SecretHash) -> Result<Option<AccessToken>, StoreError> {
        dispatch!(self, store => store.access_token(hash))
    }

    async fn refresh_token(
        &self,
        hash: SecretHash,
    ) -> Result<Option<(RefreshToken, RefreshState)>, StoreError> {
        dispatch!(self, store => store.refresh_token(hash))
    }

    async fn rotate_refresh(
        &self,
        old: SecretHash,
        now: Timestamp,
        tokens: IssuedTokens,
    ) -> Result<Rotation, StoreError> {
        dispatch!(self, store => store.rotate_refresh(old, now, tokens))
    }

    async fn grant(&self, id: GrantId) -> Result<Option<Grant>, StoreError> {
        dispatch!(self, store => store.grant(id))
    }

    async fn revoke_grant(&self, id: GrantId) -> Result<(), StoreError> {
        dispatch!(self, store => store.revoke_grant(id))
    }

    async fn revoke_access_token(&self, hash: SecretHash) -> Result<bool, StoreError> {
        dispatch!(self, store => store.revoke_access_token(hash))
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> Result<usize, StoreError> {
        dispatch!(self, store => store.purge_expired(now, limit))
    }
}

impl AccountStore for SqlStore {
    async fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        dispatch!(self, store => store.user_by_name(username))
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        dispatch!(self, store => store.user(id))
    }

    async fn insert_user(&self, username: &str, password_hash: &str) -> Result<User, StoreError> {
        dispatch!(self, store => store.insert_user(username, password_hash))
    }

    async fn insert_session(&self, hash: SecretHash, session: Session) -> Result<(), StoreError> {
        dispatch!(self, store => store.insert_session(hash, session))
    }

    async fn session(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        dispatch!(self, store => store.session(hash, now))
    }

    async fn delete_session(&self, hash: SecretHash) -> Result<(), StoreError> {
        dispatch!(self, store => store.delete_session(hash))
    }

    async fn insert_pending(
        &self,
        hash: SecretHash,
        pending: PendingAuthorization,
    ) -> Result<(), StoreError> {
        dispatch!(self, store => store.insert_pending(hash, pending))
    }

    async fn pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        dispatch!(self, store => store.pending(hash, now))
    }

    async fn take_pending(
        &self,
        hash: SecretHash,
        now: Timestamp,
    ) -> Result<Option<PendingAuthorization>, StoreError> {
        dispatch!(self, store => store.take_pending(hash, now))
    }
}
