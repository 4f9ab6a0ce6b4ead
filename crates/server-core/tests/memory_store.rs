//! The store contract suite run against the in-memory store.

portcullis_server_core::store_contract_tests!(async { portcullis_server_core::MemoryStore::new() });
