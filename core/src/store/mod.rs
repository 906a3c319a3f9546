//! Storage: one connection pool for SQLite (the embedded default) or PostgreSQL
//! (for several machines), the same schema on both, and the repositories that
//! read and write it. SQL is written once where the two dialects agree (SQLite
//! accepts `$1` placeholders); `on_pool!` runs it on whichever pool is in use.

mod connect;
mod identities;
pub(crate) mod multi_row;
mod organizations;
mod sync_read;

use std::time::{SystemTime, UNIX_EPOCH};

pub use identities::{Identities, Identity};
pub use organizations::{Organization, OrganizationKind, Organizations};
use sqlx::{PgPool, SqlitePool};

/// Runs `$body` with `$pool` bound to the SQLite or the PostgreSQL pool.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($pool) => $body,
            $crate::store::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database, shared by every request and worker. Cloning is cheap.
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Answers whether the database takes a query now.
    pub async fn ping(&self) -> crate::Result<()> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection; later queries fail.
    pub async fn close(&self) {
        self.forget_sync_readers();
        on_pool!(self, |pool| pool.close().await)
    }

    pub fn organizations(&self) -> Organizations<'_> {
        Organizations(self)
    }

    pub fn identities(&self) -> Identities<'_> {
        Identities(self)
    }
}

/// Milliseconds since the Unix epoch: how system-event times are stored.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A new time-ordered id, as text.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
