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

/// How often opening a SQLite database is tried while it is locked.
const CONNECT_TRIES: u32 = 8;

/// SQLITE_BUSY, with or without an extended code.
fn is_busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// How much of a SQLite database file is mapped into memory (pages count in
/// the process's memory only while the OS keeps them cached).
const MMAP_SIZE: u64 = 1 << 30;

/// Connections of the bulk-write pool ([`Store::for_bulk_writes`]).
const BULK_CONNECTIONS: u32 = 4;

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
                .busy_timeout(ACQUIRE_TIMEOUT)
                // Reads straight from the file's pages in the OS cache: every
                // commit (the audit log's, several a second) empties each
                // connection's own page cache, and reading the pages back one
                // pread at a time cost more than the queries themselves.
                .pragma("mmap_size", MMAP_SIZE.to_string());
            let pool_options = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // A SQLite connection is a file handle in this process, not a
                // socket that can die: pinging it on every acquire (the default)
                // cost a thread round trip per query, 40% of a key lookup.
                .test_before_acquire(false);
            // Several processes opening a new file at once (switching it to
            // WAL) may find it locked in a way SQLite does not wait out: try
            // again a few times before giving up.
            let mut tries = 0;
            loop {
                match pool_options.clone().connect_with(options.clone()).await {
                    Err(e) if is_busy(&e) && tries < CONNECT_TRIES => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(20 * u64::from(tries))).await;
                    }
                    Err(e) => return Err(e.into()),
                    Ok(pool) => return Ok(Store::Sqlite(pool)),
                }
            }
        }
    }

    /// A pool for bulk writes (EOB uploads) beside this one. On SQLite: a few
    /// connections of its own that read without the memory map, so that an
    /// upload of a hundred thousand EOBs does not map every page it passes
    /// into the process (page views read a small hot set; an upload touches
    /// most of the file). On PostgreSQL: this pool.
    pub async fn for_bulk_writes(&self) -> Result<Store> {
        match self {
            Store::Postgres(_) => Ok(self.clone()),
            Store::Sqlite(pool) => {
                let options = (*pool.connect_options()).clone().pragma("mmap_size", "0");
                let pool = SqlitePoolOptions::new()
                    .max_connections(BULK_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Ok(Store::Sqlite(pool))
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    async fn mapped_bytes(store: &Store) -> i64 {
        let Store::Sqlite(pool) = store else {
            unreachable!("SQLite")
        };
        sqlx::query_scalar("PRAGMA mmap_size")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn page_views_read_the_file_mapped_and_bulk_uploads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("portico.db").display());
        let settings = Settings::load(None, [("PORTICO_DATABASE_URL".to_owned(), url)]).unwrap();
        let store = Store::connect(&settings.database_url).await.unwrap();
        let bulk = store.for_bulk_writes().await.unwrap();
        assert_eq!(mapped_bytes(&store).await, MMAP_SIZE as i64);
        assert_eq!(mapped_bytes(&bulk).await, 0);
        // The same database: what one writes, the other reads.
        store.migrate().await.unwrap();
        let Store::Sqlite(pool) = &bulk else {
            unreachable!()
        };
        let tables: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_events'")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(tables, 1);
    }
}
