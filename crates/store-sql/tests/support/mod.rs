//! Databases and records for the store tests.
//!
//! Compiled into the crate's unit tests and into each integration test, so it
//! uses no item of `portcullis-store-sql` itself: it hands out database URLs.

// Each test crate that includes this module uses a different part of it, and
// these helpers panic on a store error just as the tests that call them do.
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod checks;
pub(crate) mod fresh;

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use portcullis_grants::{
    AccessToken, Client, ClientOrigin, CodeRecord, Grant, GrantId, RedirectTarget, RefreshToken,
    ResourceId, SecretHash, Timestamp, UserId, ValidatedAuthorization,
};
use portcullis_pkce::CodeChallenge;
use portcullis_scopes::ScopeSet;
use portcullis_server_core::{IssuedTokens, PendingAuthorization, Session};
use sqlx::Connection;

/// The environment variable that names the PostgreSQL server for tests.
pub(crate) const POSTGRES_URL_VARIABLE: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// The time the tests treat as now.
pub(crate) const NOW: Timestamp = Timestamp(1_800_000_000);

/// Returns a `sqlite:` URL for a new database file in `directory`.
pub(crate) fn sqlite_url(directory: &tempfile::TempDir) -> String {
    format!(
        "sqlite:{}",
        directory.path().join("portcullis.db").display()
    )
}

/// Returns the PostgreSQL server URL for tests, or `None` to skip them.
///
/// # Panics
///
/// When the variable is unset but `CI` is set, so a CI run cannot pass without
/// running the PostgreSQL tests.
pub(crate) fn postgres_server_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VARIABLE) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if running_in_ci() => panic!(
            "{POSTGRES_URL_VARIABLE} is not set but CI is: start a server with \
             crates/store-sql/scripts/start-postgres.sh and export the URL it prints"
        ),
        _ => {
            // Written to the stream itself, because the test harness captures
            // `eprintln!` output of passing tests. Printed once per test binary.
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL tests: {POSTGRES_URL_VARIABLE} is not set"
                );
            });
            None
        }
    }
}

fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// A PostgreSQL schema of its own for one test, dropped when this value is dropped.
pub(crate) struct PostgresSchema {
    server_url: String,
    name: String,
    /// The URL that puts the store's tables in this schema.
    pub(crate) url: String,
}

impl PostgresSchema {
    /// Creates an empty schema, or returns `None` when PostgreSQL tests are skipped.
    pub(crate) async fn create() -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server_url = postgres_server_url()?;
        let name = format!(
            "portcullis_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut connection = sqlx::PgConnection::connect(&server_url)
            .await
            .expect("connect to the PostgreSQL test server");
        sqlx::raw_sql(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .execute(&mut connection)
        .await
        .expect("create the test schema");
        connection
            .close()
            .await
            .expect("close the setup connection");
        let separator = if server_url.contains('?') { '&' } else { '?' };
        let url = format!("{server_url}{separator}options[search_path]={name}");
        Some(Self {
            server_url,
            name,
            url,
        })
    }

    /// Returns the schema name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PostgresSchema {
    fn drop(&mut self) {
        let server_url = self.server_url.clone();
        let statement = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // A separate thread with its own runtime, because `drop` cannot await and
        // may run inside the test's runtime. Failing to drop only leaves a schema behind.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&server_url).await.ok()?;
                sqlx::raw_sql(&statement)
                    .execute(&mut connection)
                    .await
                    .ok()?;
                connection.close().await.ok()
            })
        });
        if cleanup.join().ok().flatten().is_none() {
            eprintln!("failed to drop test schema {}", self.name);
        }
    }
}

/// Returns a hash that differs for every `seed`.
pub(crate) fn hash(seed: &str) -> SecretHash {
    SecretHash::of(seed)
}

/// Returns a grant id that differs for every `seed` below 256.
pub(crate) fn grant_id(seed: u8) -> GrantId {
    GrantId([seed; 16])
}

pub(crate) fn client(id: &str) -> Client {
    Client {
        id: id.to_owned(),
        name: format!("{id} app"),
        secret_hash: Some(hash(&format!("{id} secret"))),
        redirect_uris: vec![
            "https://app.example/callback".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
            "com.example.app:/cb".to_owned(),
        ],
        scope: ScopeSet::from_bits(0b1011),
        origin: ClientOrigin::Administrator,
        created_at: NOW,
    }
}

pub(crate) fn challenge(seed: u8) -> CodeChallenge {
    CodeChallenge::from_digest([seed; 32])
}

pub(crate) fn code(grant: GrantId) -> CodeRecord {
    CodeRecord {
        grant,
        client_id: "dashboard".to_owned(),
        redirect_uri: "http://127.0.0.1:5000/callback".to_owned(),
        redirect_uri_sent: true,
        challenge: challenge(7),
        scope: ScopeSet::from_bits(0b11),
        resource: ResourceId(1),
        user: UserId(42),
        issued_at: NOW,
        expires_at: NOW.plus(60),
    }
}

pub(crate) fn grant(id: GrantId) -> Grant {
    Grant {
        id,
        client_id: "dashboard".to_owned(),
        user: UserId(42),
        scope: ScopeSet::from_bits(0b11),
        resource: ResourceId(1),
        created_at: NOW,
    }
}

/// Returns a token pair of `grant` whose hashes differ for every `seed`.
pub(crate) fn tokens(grant: GrantId, seed: &str) -> IssuedTokens {
    IssuedTokens {
        access_hash: hash(&format!("access {seed}")),
        access: AccessToken {
            grant,
            user: UserId(42),
            scope: ScopeSet::from_bits(0b01),
            resource: ResourceId(1),
            issued_at: NOW,
            expires_at: NOW.plus(3600),
        },
        refresh_hash: hash(&format!("refresh {seed}")),
        refresh: RefreshToken {
            grant,
            issued_at: NOW,
            expires_at: NOW.plus(30 * 86_400),
        },
    }
}

pub(crate) fn session(user: Option<UserId>) -> Session {
    Session {
        user,
        created_at: NOW,
        expires_at: NOW.plus(3600),
    }
}

pub(crate) fn pending(session: SecretHash) -> PendingAuthorization {
    PendingAuthorization {
        request: ValidatedAuthorization {
            client_id: "dashboard".to_owned(),
            redirect: RedirectTarget {
                uri: "http://localhost:5000/callback".to_owned(),
                sent: false,
            },
            state: Some("af0ifjsldkj".to_owned()),
            challenge: challenge(9),
            scope: ScopeSet::from_bits(1 << 100),
            resource: ResourceId(0),
        },
        session,
        expires_at: NOW.plus(600),
    }
}
