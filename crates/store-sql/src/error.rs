use std::fmt;

use portcullis_server_core::StoreError;
use sqlx::error::ErrorKind;

/// Why [`SqlStore::connect`](crate::SqlStore::connect) or an engine's `connect` failed.
///
/// No variant's message contains the database URL, because the URL may carry a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL names no supported engine. `scheme` is the part before the first `:`.
    #[error("unsupported database URL scheme {scheme:?}: expected sqlite:PATH or postgres://...")]
    UnsupportedScheme {
        /// The scheme found in the URL.
        scheme: String,
    },
    /// The URL has a supported scheme but an invalid form or option.
    #[error("invalid database URL")]
    InvalidUrl(#[source] sqlx::Error),
    /// The database could not be opened or reached.
    #[error("failed to connect to the database")]
    Connect(#[source] sqlx::Error),
    /// Applying the schema migrations failed.
    #[error("failed to apply the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A row whose stored value does not decode into its record type.
///
/// Only a write from outside this crate, or a damaged database, can produce one.
#[derive(Debug)]
pub(crate) struct InvalidColumn {
    pub(crate) column: &'static str,
    pub(crate) reason: &'static str,
}

impl fmt::Display for InvalidColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid value in column {}: {}",
            self.column, self.reason
        )
    }
}

impl std::error::Error for InvalidColumn {}

impl From<InvalidColumn> for StoreError {
    fn from(error: InvalidColumn) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// Maps a driver error to a [`StoreError`].
///
/// `is_transient_code` receives the engine's error code (a SQLSTATE for
/// PostgreSQL, an extended result code for SQLite) and returns `true` when
/// retrying later may succeed.
pub(crate) fn store_error(error: sqlx::Error, is_transient_code: fn(&str) -> bool) -> StoreError {
    let transient = match &error {
        sqlx::Error::Database(database) => {
            if database.kind() == ErrorKind::UniqueViolation {
                return StoreError::Conflict;
            }
            database.code().is_some_and(|code| is_transient_code(&code))
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        _ => false,
    };
    if transient {
        tracing::debug!(error = %error, "database temporarily unavailable");
        StoreError::Unavailable(Box::new(error))
    } else {
        tracing::debug!(error = %error, "database operation failed");
        StoreError::Backend(Box::new(error))
    }
}

/// Returns `true` for PostgreSQL SQLSTATE codes after which a retry may succeed.
///
/// Class 08 is a lost or refused connection, 57P01 to 57P03 a server shutting
/// down, restarting or starting up, 53300 too many connections, 40001 and
/// 40P01 a serialization failure or deadlock, 55P03 a lock timeout and 57014
/// a statement timeout.
pub(crate) fn is_transient_postgres_code(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "55P03" | "57014"
        )
}

/// Returns `true` for SQLite result codes after which a retry may succeed.
///
/// `code` is an extended result code, whose low byte is the primary code:
/// 5 is `SQLITE_BUSY` (the busy timeout ran out), 6 `SQLITE_LOCKED` and 14
/// `SQLITE_CANTOPEN` (the database file cannot be opened now).
pub(crate) fn is_transient_sqlite_code(code: &str) -> bool {
    let Ok(extended) = code.parse::<i32>() else {
        return false;
    };
    matches!(extended & 0xff, 5 | 6 | 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_connection_and_shutdown_codes_are_transient() {
        for code in ["08006", "08001", "57P01", "57P03", "53300", "40001"] {
            assert!(is_transient_postgres_code(code), "{code}");
        }
    }

    #[test]
    fn postgres_constraint_and_syntax_codes_are_not_transient() {
        for code in ["23505", "23503", "42601", "22P02", "XX000"] {
            assert!(!is_transient_postgres_code(code), "{code}");
        }
    }

    #[test]
    fn sqlite_busy_codes_are_transient() {
        // 517 is SQLITE_BUSY_SNAPSHOT, an extended form of SQLITE_BUSY.
        for code in ["5", "517", "6", "14"] {
            assert!(is_transient_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn sqlite_other_codes_are_not_transient() {
        for code in ["1", "19", "2067", "11", "not a number"] {
            assert!(!is_transient_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn pool_timeout_maps_to_unavailable() {
        let error = store_error(sqlx::Error::PoolTimedOut, is_transient_sqlite_code);
        assert!(error.is_transient());
    }

    #[test]
    fn row_not_found_maps_to_backend() {
        let error = store_error(sqlx::Error::RowNotFound, is_transient_sqlite_code);
        assert!(matches!(error, StoreError::Backend(_)));
    }
}
