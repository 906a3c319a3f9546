//! Opening the pools and bringing the schema up to date.

use std::{
    ffi::{c_int, c_void},
    fs::File,
    path::PathBuf,
    str::FromStr,
    time::{Duration, Instant},
};

use rusqlite::ffi::{sqlite3_busy_handler, SQLITE_OK};

use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
        SqliteSynchronous,
    },
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
                // While the connection opens; once open, `wait_in_short_steps`
                // replaces it with a handler of the same limit.
                .busy_timeout(ACQUIRE_TIMEOUT);
            let pool_options = SqlitePoolOptions::new()
                .after_connect(|conn, _| Box::pin(wait_in_short_steps(conn)))
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

/// How long one wait for a SQLite lock lasts.
const BUSY_STEP: Duration = Duration::from_micros(200);

thread_local! {
    /// When the current wait for a lock began, on this connection's thread.
    static WAITING_SINCE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// SQLite's busy handler: wait [`BUSY_STEP`] and try again, until
/// [`ACQUIRE_TIMEOUT`] has passed since the first try (`tries == 0`). It runs
/// on the thread making the SQLite call, which waits for one lock at a time,
/// so the thread-local start time belongs to the current wait alone.
extern "C" fn wait_one_step(_: *mut c_void, tries: c_int) -> c_int {
    let now = Instant::now();
    let since = match WAITING_SINCE.get() {
        Some(since) if tries > 0 => since,
        _ => {
            WAITING_SINCE.set(Some(now));
            now
        }
    };
    if now.duration_since(since) >= ACQUIRE_TIMEOUT {
        return 0;
    }
    std::thread::sleep(BUSY_STEP);
    1
}

/// Makes a pool connection wait out a held write lock in short steps. SQLite's
/// own handler (behind `busy_timeout`) sleeps 1, 2, 5, 10, … then 100 ms at a
/// time, and the audit writer holds the lock most of the time under load: a
/// write of another kind (a thread marked read, a session extended) woke up
/// mostly to find it held again, and the first views of 640 threads took up to
/// 1.6 s. In short steps it takes the lock in the gap between two batches.
async fn wait_in_short_steps(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the handle is a live connection, locked for this call (no other
    // thread uses it meanwhile); the handler is a plain function that ignores
    // its argument (its only state is thread-local), so the null pointer is
    // never read.
    let code = unsafe {
        sqlite3_busy_handler(
            handle.as_raw_handle().as_ptr(),
            Some(wait_one_step),
            std::ptr::null_mut(),
        )
    };
    if code == SQLITE_OK {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("setting the SQLite busy handler failed with code {code}").into(),
        ))
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
