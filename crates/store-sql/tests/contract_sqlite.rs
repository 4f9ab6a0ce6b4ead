//! The store contract suite of `portcullis-server-core`, run on SQLite with a
//! new database file per test.

mod support;

use portcullis_store_sql::SqliteStore;
use support::fresh::Fresh;
use support::sqlite_url;

/// Opens a store on a new file in a temporary directory that lives as long as the store.
async fn fresh_store() -> Fresh<SqliteStore, tempfile::TempDir> {
    let directory = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::connect(&sqlite_url(&directory))
        .await
        .expect("open SQLite store");
    Fresh {
        store,
        _scratch: directory,
    }
}

portcullis_server_core::store_contract_tests!(fresh_store());
