//! Versioned schema migrations, embedded in the binary and applied at connect.
//!
//! Each engine has its own directory of `<VERSION>_<DESCRIPTION>.sql` files,
//! the layout `sqlx migrate` uses. They are listed here with `include_str!`
//! because `sqlx::migrate!` needs sqlx's `macros` feature. The migrator records
//! each applied version and its SHA-384 checksum in `_sqlx_migrations` and
//! rejects a database whose applied migrations were edited afterwards. On
//! PostgreSQL it holds an advisory lock while migrating, so several server
//! processes can start at once.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// One migration file.
#[derive(Debug)]
pub(crate) struct MigrationFile {
    pub(crate) version: i64,
    pub(crate) description: &'static str,
    pub(crate) sql: &'static str,
}

/// The SQLite migrations, in version order.
pub(crate) const SQLITE: &[MigrationFile] = &[MigrationFile {
    version: 1,
    description: "initial schema",
    sql: include_str!("../migrations/sqlite/0001_initial_schema.sql"),
}];

/// The PostgreSQL migrations, in version order.
pub(crate) const POSTGRES: &[MigrationFile] = &[MigrationFile {
    version: 1,
    description: "initial schema",
    sql: include_str!("../migrations/postgres/0001_initial_schema.sql"),
}];

/// A list of embedded migration files as a source for sqlx's [`Migrator`].
#[derive(Debug)]
struct Embedded(&'static [MigrationFile]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self
            .0
            .iter()
            .map(|file| {
                Migration::new(
                    file.version,
                    Cow::Borrowed(file.description),
                    MigrationType::Simple,
                    Cow::Borrowed(file.sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

/// Builds the migrator for one engine's migration files.
pub(crate) async fn migrator(files: &'static [MigrationFile]) -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded(files)).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Lists the `.sql` file names of one engine's migration directory, sorted.
    fn files_on_disk(engine: &str) -> Vec<String> {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(engine);
        let mut names: Vec<String> = std::fs::read_dir(&directory)
            .expect("migration directory is readable")
            .map(|entry| {
                entry
                    .expect("directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    /// Builds the file name `sqlx migrate` expects for an embedded migration.
    fn expected_name(file: &MigrationFile) -> String {
        format!(
            "{:04}_{}.sql",
            file.version,
            file.description.replace(' ', "_")
        )
    }

    #[test]
    fn every_sqlite_migration_file_is_embedded() {
        let embedded: Vec<String> = SQLITE.iter().map(expected_name).collect();
        assert_eq!(embedded, files_on_disk("sqlite"));
    }

    #[test]
    fn every_postgres_migration_file_is_embedded() {
        let embedded: Vec<String> = POSTGRES.iter().map(expected_name).collect();
        assert_eq!(embedded, files_on_disk("postgres"));
    }

    #[test]
    fn embedded_file_contents_match_the_disk() {
        for (engine, files) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            for file in files {
                let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(engine)
                    .join(expected_name(file));
                let on_disk = std::fs::read_to_string(&path).expect("migration file is readable");
                assert_eq!(on_disk, file.sql, "{}", path.display());
            }
        }
    }
}
