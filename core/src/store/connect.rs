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

impl Store {
    /// Opens a pool for the address: WAL, foreign keys and a busy timeout on SQLite
    /// (creating the file when missing).
    pub async fn connect(url: &DatabaseUrl) -> Result<Self> {
        if url.is_postgres() {
            // No JIT: the portal's queries are small lookups, and with stale
            // statistics (bulk loads, autovacuum off) PostgreSQL estimated the
            // inbox query dear enough to JIT-compile it, 40 ms of compiling for
            // a 1 ms query, on every execution of the generic plan.
            let options = PgConnectOptions::from_str(url.expose())?.options([("jit", "off")]);
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

    /// On PostgreSQL, refreshes the query planner's statistics, as autovacuum
    /// does some time after a bulk load (and never where it is turned off). On
    /// SQLite nothing: a running portal never gathers statistics there either.
    pub async fn analyze(&self) -> Result<()> {
        if let Store::Postgres(pool) = self {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
        Ok(())
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
pub(super) fn sqlite_file(filename: &std::path::Path) -> Option<PathBuf> {
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
