use std::str::FromStr;

use portcullis_server_core::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::{ConnectError, is_transient_postgres_code, store_error};
use crate::fault::Faults;
use crate::migrate;
use crate::options::{DEFAULT_POSTGRES_CONNECTIONS, StoreOptions};

// The same source serves both engines, compiled once per parent module with
// that parent's `Db` and `Engine`.
#[allow(clippy::duplicate_mod)]
#[path = "engine.rs"]
mod engine;

type Db = sqlx::Postgres;
type Engine = PostgresStore;

/// Locks the grant of the refresh token `$1` before a rotation touches the token.
///
/// A revocation locks the grant row first and the token rows after it. A
/// rotation that locked its token row first and then the grant row (through
/// the foreign-key check of its new tokens) would deadlock with it, and
/// PostgreSQL would abort one of the two, perhaps the revocation.
const LOCK_GRANT_OF_REFRESH: Option<&str> = Some(
    "SELECT 1 FROM grants WHERE id = (SELECT grant_id FROM refresh_tokens WHERE hash = $1) \
     FOR KEY SHARE",
);

/// One statement per kind of expiring row, each deleting at most `$2` rows expired at `$1`.
///
/// Codes and refresh tokens go whether consumed or rotated, because a
/// tombstone is kept only until the original would have expired. `SKIP
/// LOCKED` leaves rows that a redemption, rotation or revocation holds, so a
/// purge never waits for another transaction's row lock and so never joins a
/// deadlock. Without it, a purge and a revocation that delete the same tokens
/// in different orders can deadlock, and PostgreSQL aborts one of them.
const PURGE_STATEMENTS: [&str; 5] = [
    "DELETE FROM codes WHERE hash IN (SELECT hash FROM codes \
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM access_tokens WHERE hash IN (SELECT hash FROM access_tokens \
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM refresh_tokens WHERE hash IN (SELECT hash FROM refresh_tokens \
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM sessions WHERE hash IN (SELECT hash FROM sessions \
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    "DELETE FROM pending_authorizations WHERE hash IN (SELECT hash FROM pending_authorizations \
     WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
];

/// A [`Store`](portcullis_server_core::Store) and
/// [`AccountStore`](portcullis_server_core::AccountStore) in a PostgreSQL database.
///
/// All state lives in the database and every decision is one transaction, so
/// any number of server processes can share one database. Transactions run at
/// PostgreSQL's default `READ COMMITTED` level: a conditional `UPDATE` that
/// loses a race waits for the winner to commit and then matches no row.
///
/// This build has no TLS support, so connect over a Unix socket or a trusted
/// network, and leave `sslmode` at `prefer` or `disable`.
#[derive(Debug)]
pub struct PostgresStore {
    pool: PgPool,
    faults: Faults,
}

impl PostgresStore {
    /// Connects with default options, as [`PostgresStore::connect_with`] does.
    ///
    /// # Errors
    ///
    /// The errors of [`PostgresStore::connect_with`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// Connects to the database named by a `postgres://` or `postgresql://` URL and applies migrations.
    ///
    /// The URL takes the query parameters sqlx supports, such as
    /// `host=/run/postgresql` for a Unix socket, `application_name=NAME`, or
    /// `options[search_path]=SCHEMA` to keep the tables in a schema.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] for a malformed URL, [`ConnectError::Connect`]
    /// when the server cannot be reached or rejects the login, and
    /// [`ConnectError::Migrate`] when the schema cannot be brought up to date.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self, ConnectError> {
        let connect = PgConnectOptions::from_str(url).map_err(ConnectError::InvalidUrl)?;
        let pool = PgPoolOptions::new()
            .max_connections(
                options
                    .max_connections
                    .unwrap_or(DEFAULT_POSTGRES_CONNECTIONS),
            )
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(ConnectError::Connect)?;
        let migrator = migrate::migrator(migrate::POSTGRES)
            .await
            .map_err(ConnectError::Migrate)?;
        migrator.run(&pool).await.map_err(ConnectError::Migrate)?;
        Ok(Self {
            pool,
            faults: Faults::default(),
        })
    }

    /// Closes every pooled connection and waits until they are closed.
    ///
    /// Calls made afterwards fail with [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        self.pool.begin().await.map_err(map_error)
    }

    #[cfg(test)]
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }
}

fn map_error(error: sqlx::Error) -> StoreError {
    store_error(error, is_transient_postgres_code)
}
