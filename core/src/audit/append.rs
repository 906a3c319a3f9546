//! Appending a batch of events to the chain, in one transaction.
//!
//! The chain head is read inside the transaction, after taking the lock that
//! serializes writers: `BEGIN IMMEDIATE` on SQLite (the database write lock), and
//! `LOCK TABLE audit_events IN EXCLUSIVE MODE` on PostgreSQL (blocks other
//! writers, in this process or any other instance, but not readers). So every
//! writer extends the true head, never one remembered in memory, and a batch
//! that fails leaves no trace: nothing of it is committed and the next batch
//! reads the same head again.
//!
//! Rows go into `audit_events` with multi-row INSERTs of fixed sizes (64, 32,
//! …, 1 rows), so only seven statement texts exist and each is prepared once
//! per connection. The id index (`audit_ids`) is filled later, in bigger
//! batches ([`index`](super::index)). The appender
//! keeps one connection for all its batches: on SQLite each connection is a
//! thread of its own, and waking another one per batch costs.

use std::sync::LazyLock;

use sqlx::{pool::PoolConnection, Connection, Postgres, Sqlite};

use super::{
    chain::{AuditRow, COLUMNS, GENESIS},
    read_mark::{self, ReadMark},
    AuditEvent, Seq,
};
use crate::{
    store::multi_row::{chunks, statements, Placeholders},
    store::on_pool,
    store::Store,
    Error, Result,
};

/// Columns bound per `audit_events` row.
const EVENT_PARAMS: usize = 12;

const HEAD_SQL: &str = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";
const POSTGRES_LOCK_SQL: &str = "LOCK TABLE audit_events IN EXCLUSIVE MODE";

/// The INSERT statements of one dialect, one per chunk size (same order as
/// `CHUNK_SIZES`), built once.
struct Inserts {
    events: Vec<String>,
}

impl Inserts {
    fn new(placeholders: Placeholders) -> Self {
        let events = statements(
            &format!("INSERT INTO audit_events ({COLUMNS})"),
            EVENT_PARAMS,
            placeholders,
        );
        Self { events }
    }
}

static SQLITE_INSERTS: LazyLock<Inserts> = LazyLock::new(|| Inserts::new(Placeholders::Anonymous));
static POSTGRES_INSERTS: LazyLock<Inserts> = LazyLock::new(|| Inserts::new(Placeholders::Numbered));

/// The row for an event, before it has a place in the chain.
fn unlinked_row(event: &AuditEvent) -> AuditRow {
    AuditRow {
        seq: 0,
        occurred_at: event.occurred_at,
        actor_kind: event.actor.kind.as_str().to_owned(),
        actor_id: event.actor.id.clone(),
        action: event.action.as_str().to_owned(),
        subject_ids: event.subject_ids.join(" "),
        organization_id: event.organization_id.clone(),
        outcome: event.outcome.as_str().to_owned(),
        client_address: event.client_address.map(|a| a.to_string()),
        // Cut again in case the field was set directly rather than through `from_client`.
        user_agent: event
            .user_agent
            .as_deref()
            .and_then(super::event::clean_user_agent),
        prev_hash: Vec::new(),
        hash: Vec::new(),
    }
}

/// Gives each row its seq, `prev_hash` and `hash`, continuing from `head`.
fn link(rows: &mut [AuditRow], head: Option<(i64, Vec<u8>)>) -> Result<()> {
    let (mut seq, mut prev) = match head {
        None => (0, GENESIS.to_vec()),
        Some((seq, hash)) if hash.len() == 32 => (seq, hash),
        Some((seq, _)) => {
            return Err(Error::AuditCorrupt {
                seq,
                problem: "the chain head's hash is not 32 bytes".into(),
            })
        }
    };
    for row in rows {
        seq += 1;
        row.seq = seq;
        row.prev_hash = prev;
        row.hash = row.compute_hash().to_vec();
        prev = row.hash.clone();
    }
    Ok(())
}

/// Why an attempt failed, and whether the commit may have gone through.
struct Failed {
    error: Error,
    /// False when the failure came before COMMIT was sent: nothing was written,
    /// so trying again cannot duplicate anything.
    at_commit: bool,
}

impl Failed {
    fn before_commit(error: impl Into<Error>) -> Self {
        Self {
            error: error.into(),
            at_commit: false,
        }
    }

    fn at_commit(error: impl Into<Error>) -> Self {
        Self {
            error: error.into(),
            at_commit: true,
        }
    }
}

/// True when the database connection itself was lost (rather than a statement
/// refused): a fresh connection may well succeed.
fn connection_lost(error: &Error) -> bool {
    match error {
        Error::Database(
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed,
        ) => true,
        // PostgreSQL: 08xxx connection exception, 57P0x server shutting down or
        // connection terminated by an administrator.
        Error::Database(sqlx::Error::Database(e)) => e
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

enum HeldConnection {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// Reads the head in `$tx` (which holds the writers' lock), links `$rows` to it
/// and inserts them; evaluates to `Result<(), sqlx::Error>`-like errors mapped
/// by `$err`.
macro_rules! link_and_insert {
    ($tx:ident, $inserts:expr, $rows:expr, $err:expr) => {{
        let head: Option<(i64, Vec<u8>)> = sqlx::query_as(HEAD_SQL)
            .fetch_optional(&mut *$tx)
            .await
            .map_err($err)?;
        link($rows, head).map_err($err)?;
        let rows: &[AuditRow] = $rows;
        for (size, chunk) in chunks(rows) {
            let mut query = sqlx::query($inserts.events[size].as_str());
            for r in chunk {
                query = query
                    .bind(r.seq)
                    .bind(r.occurred_at)
                    .bind(r.actor_kind.as_str())
                    .bind(r.actor_id.as_str())
                    .bind(r.action.as_str())
                    .bind(r.subject_ids.as_str())
                    .bind(r.organization_id.as_deref())
                    .bind(r.outcome.as_str())
                    .bind(r.client_address.as_deref())
                    .bind(r.user_agent.as_deref())
                    .bind(r.prev_hash.as_slice())
                    .bind(r.hash.as_slice());
            }
            query.execute(&mut *$tx).await.map_err($err)?;
        }
    }};
}

/// Runs one append on a held connection: begin (and lock), read the head, link,
/// insert, write the read marks, commit. The same text serves both backends.
macro_rules! append_on {
    ($tx:ident, $begin:expr, $lock:expr, $inserts:expr, $rows:expr, $marks:expr) => {{
        let mut $tx = $begin.await.map_err(Failed::before_commit)?;
        if let Some(lock) = $lock {
            sqlx::query(lock)
                .execute(&mut *$tx)
                .await
                .map_err(Failed::before_commit)?;
        }
        link_and_insert!($tx, $inserts, $rows, Failed::before_commit);
        for mark in $marks.iter().flatten() {
            sqlx::query(read_mark::UPSERT_SQL)
                .bind(mark.thread_id.as_str())
                .bind(mark.reader.as_str())
                .bind(mark.read_at)
                .execute(&mut *$tx)
                .await
                .map_err(Failed::before_commit)?;
        }
        $tx.commit().await.map_err(Failed::at_commit)
    }};
}

/// Appending inside a transaction of the caller's, so that events are
/// committed, or not, together with what they record (an EOB and its
/// publication): no crash can leave one without the other. On SQLite the
/// transaction must hold the write lock already (`BEGIN IMMEDIATE`); on
/// PostgreSQL this takes the chain's lock, held until the caller commits. The
/// id index catches up later (see [`AuditLog::index_soon`](super::AuditLog::index_soon)).
pub(crate) trait AppendWithin {
    fn append_audit<'a>(
        &'a mut self,
        events: &'a [AuditEvent],
    ) -> impl std::future::Future<Output = Result<()>> + Send + 'a;
}

fn checked_rows(events: &[AuditEvent]) -> Result<Vec<AuditRow>> {
    events.iter().try_for_each(AuditEvent::check)?;
    Ok(events.iter().map(unlinked_row).collect())
}

impl AppendWithin for sqlx::Transaction<'_, Sqlite> {
    async fn append_audit(&mut self, events: &[AuditEvent]) -> Result<()> {
        let mut rows = checked_rows(events)?;
        let tx: &mut sqlx::SqliteConnection = self;
        link_and_insert!(tx, SQLITE_INSERTS, &mut rows, Error::from);
        Ok(())
    }
}

impl AppendWithin for sqlx::Transaction<'_, Postgres> {
    async fn append_audit(&mut self, events: &[AuditEvent]) -> Result<()> {
        let mut rows = checked_rows(events)?;
        let tx: &mut sqlx::PgConnection = self;
        sqlx::query(POSTGRES_LOCK_SQL).execute(&mut *tx).await?;
        link_and_insert!(tx, POSTGRES_INSERTS, &mut rows, Error::from);
        Ok(())
    }
}

/// Appends batches of events to the chain, each batch in one transaction, on
/// one connection it keeps. [`AuditLog`](super::AuditLog) drives one of these
/// from its writer task; tools and benchmarks may use one directly.
pub struct Appender {
    store: Store,
    conn: Option<HeldConnection>,
}

impl Appender {
    pub fn new(store: Store) -> Self {
        Self { store, conn: None }
    }

    /// Appends `events`, in order, in one transaction, and returns their seqs once
    /// the transaction is durably committed. On error nothing of the batch was
    /// committed (or, if the commit itself failed, that cannot be known: the caller
    /// must treat the events as not recorded either way).
    ///
    /// A batch whose connection was lost before COMMIT was sent is tried once more
    /// on a fresh connection, so a database restart costs no caller an error.
    pub async fn append(&mut self, events: &[AuditEvent]) -> Result<Vec<Seq>> {
        self.append_marking(events, &[]).await
    }

    /// Appends `events` as [`append`](Self::append) does, and writes `marks`
    /// (each event's [`ReadMark`], if it has one) in the same transaction: all
    /// of it is committed, or none.
    pub async fn append_marking(
        &mut self,
        events: &[AuditEvent],
        marks: &[Option<ReadMark>],
    ) -> Result<Vec<Seq>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows: Vec<AuditRow> = events.iter().map(unlinked_row).collect();
        let mut retried = false;
        loop {
            match self.try_append(&mut rows, marks).await {
                Ok(()) => return Ok(rows.iter().map(|r| Seq(r.seq)).collect()),
                Err(failed) => {
                    // Never reuse a connection after a failure: it may be broken,
                    // or hold the rollback of this batch.
                    self.discard_connection();
                    if !retried && !failed.at_commit && connection_lost(&failed.error) {
                        retried = true;
                        tracing::warn!(error = %failed.error, "audit: connection lost, retrying the batch once");
                        continue;
                    }
                    return Err(failed.error);
                }
            }
        }
    }

    async fn try_append(
        &mut self,
        rows: &mut [AuditRow],
        marks: &[Option<ReadMark>],
    ) -> Result<(), Failed> {
        // A closed store takes no more events, even on the connection still held.
        if on_pool!(&self.store, |pool| pool.is_closed()) {
            self.conn = None;
            return Err(Failed::before_commit(sqlx::Error::PoolClosed));
        }
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => match &self.store {
                Store::Sqlite(pool) => {
                    HeldConnection::Sqlite(pool.acquire().await.map_err(Failed::before_commit)?)
                }
                Store::Postgres(pool) => {
                    HeldConnection::Postgres(pool.acquire().await.map_err(Failed::before_commit)?)
                }
            },
        };
        match self.conn.insert(conn) {
            HeldConnection::Sqlite(conn) => {
                append_on!(
                    tx,
                    conn.begin_with("BEGIN IMMEDIATE"),
                    None::<&str>,
                    SQLITE_INSERTS,
                    rows,
                    marks
                )
            }
            HeldConnection::Postgres(conn) => {
                append_on!(
                    tx,
                    conn.begin(),
                    Some(POSTGRES_LOCK_SQL),
                    POSTGRES_INSERTS,
                    rows,
                    marks
                )
            }
        }
    }

    /// The store this appender writes to.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// True when `error` (from [`append`](Self::append)) means the database
    /// refused what was sent, rather than losing the connection or the commit:
    /// the same events sent again would be refused again, and a smaller batch
    /// may go through.
    pub(crate) fn refused(&self, error: &Error) -> bool {
        matches!(error, Error::Database(sqlx::Error::Database(_))) && !connection_lost(error)
    }

    /// Resolves when the store's pool is closed: the held connection must then be
    /// given back, or closing the pool would wait for it forever.
    pub(crate) fn pool_closed(&self) -> sqlx::pool::CloseEvent {
        on_pool!(&self.store, |pool| pool.close_event())
    }

    /// Gives the held connection back to the pool.
    pub(crate) fn release_connection(&mut self) {
        self.conn = None;
    }

    /// Drops the held connection without returning it to the pool; the pool may
    /// open a replacement.
    fn discard_connection(&mut self) {
        match self.conn.take() {
            Some(HeldConnection::Sqlite(conn)) => drop(conn.detach()),
            Some(HeldConnection::Postgres(conn)) => drop(conn.detach()),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statements_place_their_parameters_in_order() {
        assert!(POSTGRES_INSERTS.events[0].ends_with("$766, $767, $768)"));
        assert_eq!(
            SQLITE_INSERTS.events[0].matches('?').count(),
            64 * EVENT_PARAMS
        );
        assert_eq!(
            POSTGRES_INSERTS.events[6],
            format!("INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        );
    }
}
