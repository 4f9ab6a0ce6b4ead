use std::path::Path;
use std::str::FromStr;

use portcullis_server_core::StoreError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{ConnectError, is_transient_sqlite_code, store_error};
use crate::fault::Faults;
use crate::migrate;
use crate::options::{DEFAULT_SQLITE_CONNECTIONS, StoreOptions};

// The same source serves both engines, compiled once per parent module with
// that parent's `Db` and `Engine`.
#[allow(clippy::duplicate_mod)]
#[path = "engine.rs"]
mod engine;

type Db = sqlx::Sqlite;
type Engine = SqliteStore;

/// None: SQLite has no row locks, and `BEGIN IMMEDIATE` already runs one write at a time.
const LOCK_GRANT_OF_REFRESH: Option<&str> = None;

/// One statement per kind of expiring row, each deleting at most `$2` rows expired at `$1`.
///
/// Codes and refresh tokens go whether consumed or rotated, because a
/// tombstone is kept only until the original would have expired.
const PURGE_STATEMENTS: [&str; 5] = [
    "DELETE FROM codes WHERE hash IN \
     (SELECT hash FROM codes WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM access_tokens WHERE hash IN \
     (SELECT hash FROM access_tokens WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM refresh_tokens WHERE hash IN \
     (SELECT hash FROM refresh_tokens WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM sessions WHERE hash IN \
     (SELECT hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM pending_authorizations WHERE hash IN \
     (SELECT hash FROM pending_authorizations WHERE expires_at <= $1 LIMIT $2)",
];

/// A [`Store`](portcullis_server_core::Store) and
/// [`AccountStore`](portcullis_server_core::AccountStore) in one SQLite file.
///
/// The database runs in WAL mode with `synchronous = FULL`, so a committed
/// redemption survives a power cut, and with foreign keys enforced. Writes
/// that must happen whole start with `BEGIN IMMEDIATE`: they take the write
/// lock first and queue for up to the busy timeout, so concurrent redemptions
/// run one after another instead of failing with `SQLITE_BUSY`.
///
/// Several processes may open the same file, but the file must be on a local
/// disk: SQLite's locking is unreliable over network file systems.
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    faults: Faults,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if missing, and applies migrations.
    ///
    /// The parent directory must exist.
    ///
    /// # Errors
    ///
    /// [`ConnectError::Connect`] when the file cannot be opened or created, and
    /// [`ConnectError::Migrate`] when the schema cannot be brought up to date.
    pub async fn open(
        path: impl AsRef<Path>,
        options: &StoreOptions,
    ) -> Result<Self, ConnectError> {
        let connect = SqliteConnectOptions::new().filename(path.as_ref());
        Self::connect_options(connect, options).await
    }

    /// Opens the database named by a `sqlite:PATH` URL with default options, as
    /// [`SqliteStore::open`] does.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] for a malformed URL, and the errors of [`SqliteStore::open`].
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// Opens the database named by a `sqlite:PATH` URL, as [`SqliteStore::open`] does.
    ///
    /// # Errors
    ///
    /// [`ConnectError::InvalidUrl`] for a malformed URL, and the errors of [`SqliteStore::open`].
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Self, ConnectError> {
        let connect = SqliteConnectOptions::from_str(url).map_err(ConnectError::InvalidUrl)?;
        Self::connect_options(connect, options).await
    }

    async fn connect_options(
        connect: SqliteConnectOptions,
        options: &StoreOptions,
    ) -> Result<Self, ConnectError> {
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(
                options
                    .max_connections
                    .unwrap_or(DEFAULT_SQLITE_CONNECTIONS),
            )
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(ConnectError::Connect)?;
        let migrator = migrate::migrator(migrate::SQLITE)
            .await
            .map_err(ConnectError::Migrate)?;
        // sqlx takes no lock while migrating SQLite, so of two connections that
        // open a new file at once, the second fails to create the tables the
        // first just created. Running again finds them recorded as applied.
        if let Err(error) = migrator.run(&pool).await {
            tracing::debug!(error = %error, "retrying the SQLite migrations once");
            migrator.run(&pool).await.map_err(ConnectError::Migrate)?;
        }
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

    /// Starts a transaction that holds the database's write lock from its first statement.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_error)
    }

    #[cfg(test)]
    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }
}

fn map_error(error: sqlx::Error) -> StoreError {
    store_error(error, is_transient_sqlite_code)
}
