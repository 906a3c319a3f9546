//! The hottest SQLite reads, run in place on the request's own thread.
//!
//! sqlx runs each SQLite connection on a worker thread of its own: every query
//! is sent to that thread and its rows sent back, two thread switches a query.
//! For a message view (a session lookup and one thread query, each well under
//! a tenth of a millisecond of SQLite work) those switches cost more than the
//! queries: a fifth of the server's CPU went to the kernel's task switching.
//! So those two reads use read-only connections of their own (rusqlite, on the
//! same SQLite library), called directly. Writes, and every other read, stay
//! on the sqlx pool. A read-only connection in WAL mode sees every commit made
//! before its statement starts, so nothing read here lags behind the pool.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, LazyLock, Mutex},
    time::Duration,
};

use rusqlite::{Connection, OpenFlags};

use super::{connect::sqlite_file, Store};
use crate::{Error, Result};

/// Idle read connections kept per database file.
const IDLE_MAX: usize = 8;
/// How long a read waits out a lock (rare in WAL mode: only during recovery).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only connections to one database file.
pub(crate) struct SyncReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// The readers of each open database file, shared by the stores open on it.
static READERS: LazyLock<Mutex<HashMap<PathBuf, Arc<SyncReaders>>>> = LazyLock::new(Mutex::default);

fn registry() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Arc<SyncReaders>>> {
    READERS.lock().unwrap_or_else(|e| e.into_inner())
}

impl SyncReaders {
    /// Runs `read` on one of the connections, opening one when none is idle.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open().map_err(Error::from)?,
        };
        let answer = read(&conn).map_err(Error::from);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push(conn);
        }
        answer
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }
}

impl Store {
    /// The in-place readers of this store's database: `None` on PostgreSQL, for
    /// an in-memory database, and once the store is closed (its reads then go
    /// to the pool, which refuses them).
    pub(crate) fn sync_readers(&self) -> Option<Arc<SyncReaders>> {
        let Store::Sqlite(pool) = self else {
            return None;
        };
        if pool.is_closed() {
            return None;
        }
        let path = sqlite_file(pool.connect_options().get_filename())?;
        let mut readers = registry();
        let entry = readers.entry(path.clone()).or_insert_with(|| {
            Arc::new(SyncReaders {
                path,
                idle: Mutex::default(),
            })
        });
        Some(Arc::clone(entry))
    }

    /// Closes the in-place readers of this store's database file.
    pub(super) fn forget_sync_readers(&self) {
        if let Store::Sqlite(pool) = self {
            if let Some(path) = sqlite_file(pool.connect_options().get_filename()) {
                registry().remove(&path);
            }
        }
    }
}
