//! Opening the pools and bringing the schema up to date.

use std::{fs::File, path::PathBuf, str::FromStr, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use super::Store;
use crate::{config::DatabaseUrl, Error, Result};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long a query waits for a free connection (or, on SQLite, for the write
/// lock) before it fails instead of hanging a request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens a pool for the address: WAL, foreign keys and a busy timeout on SQLite
    /// (creating the file when missing).
    pub async fn connect(url: &DatabaseUrl) -> Result<Self> {
        if url.is_postgres() {
            let options = PgConnectOptions::from_str(url.expose())?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            Ok(Store::Postgres(pool))
        } else {
            let options = SqliteConnectOptions::from_str(url.expose())?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(ACQUIRE_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // A SQLite connection is a file handle in this process, not a
                // socket that can die: pinging it on every acquire (the default)
                // cost a thread round trip per query, 40% of a key lookup.
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Store::Sqlite(pool))
        }
    }

    /// Applies every migration not yet applied. Safe when several processes start
    /// at once: PostgreSQL serializes them with an advisory lock (sqlx takes it);
    /// on SQLite an exclusive lock on a file beside the database does the same.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Store::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
            Store::Sqlite(pool) => {
                let filename = pool.connect_options().get_filename().to_owned();
                let _lock = match sqlite_file(&filename) {
                    Some(db) => Some(lock_beside(db).await?),
                    None => None,
                };
                SQLITE_MIGRATIONS.run(pool).await?;
            }
        }
        Ok(())
    }
}

/// The database file, or `None` for an in-memory database.
fn sqlite_file(filename: &std::path::Path) -> Option<PathBuf> {
    let name = filename.to_string_lossy();
    if name == ":memory:" || name.starts_with("file:") || name.is_empty() {
        None
    } else {
        Some(filename.to_owned())
    }
}

/// Takes an exclusive lock on `<db>.migrate-lock`, waiting for any other process
/// that holds it. The lock is released when the returned file is dropped.
async fn lock_beside(db: PathBuf) -> Result<File> {
    let mut path = db.into_os_string();
    path.push(".migrate-lock");
    let path = PathBuf::from(path);
    let what = format!("migration lock {}", path.display());
    tokio::task::spawn_blocking(move || {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))
    .and_then(|r| r)
    .map_err(|source| Error::Io { what, source })
}
