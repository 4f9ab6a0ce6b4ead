//! Durable SQLite and PostgreSQL stores for the portcullis authorization server.
//!
//! [`SqliteStore`] keeps everything in one local file and suits a single
//! server; [`PostgresStore`] lets many server processes share one database.
//! [`SqlStore`] picks one of them from a URL. Each implements
//! [`Store`](portcullis_server_core::Store) and
//! [`AccountStore`](portcullis_server_core::AccountStore) with the contract of
//! the in-memory store. Every security decision (redeeming a code, rotating a
//! refresh token, revoking a grant) is one database transaction that happens
//! whole or not at all. Of concurrent callers, in one process or several,
//! exactly one wins.
//!
//! Connecting applies the embedded, versioned schema migrations. Secrets
//! arrive and are stored only as SHA-256 hashes. Scope sets are stored as
//! their 128 bits and resources as their index, which stay valid because the
//! server's scope catalog and resource list only ever grow. A lost connection,
//! a pool timeout or a database that is shutting down is reported as
//! [`StoreError::Unavailable`](portcullis_server_core::StoreError::Unavailable),
//! which the server answers with 503 `temporarily_unavailable`; any other
//! database failure is [`StoreError::Backend`](portcullis_server_core::StoreError::Backend).
//!
//! The store reads no clock: every time comes from the caller.
//!
//! ```
//! use portcullis_grants::SecretHash;
//! use portcullis_server_core::Store;
//! use portcullis_store_sql::SqlStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! # runtime.block_on(async {
//! let directory = tempfile::tempdir()?;
//! let url = format!("sqlite:{}", directory.path().join("portcullis.db").display());
//!
//! let store = SqlStore::connect(&url).await?;
//! assert_eq!(store.access_token(SecretHash::of("fltr_at_unknown")).await?, None);
//! store.close().await;
//! # Ok(())
//! # })
//! # }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod error;
mod fault;
mod migrate;
mod options;
mod postgres;
mod sql_store;
mod sqlite;

#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod support;
#[cfg(test)]
mod tests;

pub use error::ConnectError;
pub use options::StoreOptions;
pub use postgres::PostgresStore;
pub use sql_store::SqlStore;
pub use sqlite::SqliteStore;
