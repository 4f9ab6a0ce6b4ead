use std::time::Duration;

/// Connection pool and timeout settings shared by both engines.
///
/// The defaults suit a single server process. For a busy PostgreSQL deployment,
/// raise `max_connections`, keeping the sum over all replicas within the
/// database server's own `max_connections`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    pub(crate) max_connections: Option<u32>,
    pub(crate) acquire_timeout: Duration,
    pub(crate) busy_timeout: Duration,
}

// NOTE: the defaults below are guesses, not measured on a production load.
/// Pool size when none is set for SQLite. SQLite runs one write at a time, so
/// more connections only help concurrent reads.
pub(crate) const DEFAULT_SQLITE_CONNECTIONS: u32 = 8;
/// Pool size when none is set for PostgreSQL, the same as sqlx's default.
pub(crate) const DEFAULT_POSTGRES_CONNECTIONS: u32 = 10;
/// How long a call waits for a pooled connection before it fails as unavailable.
const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SQLite write waits for another connection's write lock.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
        }
    }
}

impl StoreOptions {
    /// Sets the maximum number of pooled connections (default 8 for SQLite, 10 for PostgreSQL).
    ///
    /// A value of 0 is raised to 1.
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// Sets how long a store call waits for a free connection (default 5 s).
    ///
    /// Past it the call fails with [`StoreError::Unavailable`](portcullis_server_core::StoreError::Unavailable).
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets how long a SQLite write waits for the database's write lock (default 5 s).
    ///
    /// Past it the call fails with [`StoreError::Unavailable`](portcullis_server_core::StoreError::Unavailable).
    /// PostgreSQL ignores this setting.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}
