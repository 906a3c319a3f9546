//! WAL checkpoints on SQLite, in the background.
//!
//! By default SQLite copies the write-ahead log back into the database file
//! (a checkpoint, with its fsyncs) inside whichever commit pushes the log past
//! 1,000 pages. Under load that commit is nearly always the audit writer's, so
//! every view waiting for its audit event waited for the checkpoint as well.
//! The pool turns that off (`wal_autocheckpoint = 0`) and this task runs a
//! PASSIVE checkpoint every [`EVERY`] on a connection of its own: PASSIVE
//! neither takes the write lock nor waits for readers, so commits go on.

use std::time::Duration;

use sqlx::SqlitePool;

use super::Store;

/// How often the log is checkpointed.
pub const EVERY: Duration = Duration::from_millis(500);

/// Checkpoints `pool`'s database every [`EVERY`] until the pool is closed.
pub(super) fn run_in_background(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut closed = std::pin::pin!(pool.close_event());
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut closed => break,
                _ = tick.tick() => {}
            }
            if let Err(error) = checkpoint(&pool).await {
                if !pool.is_closed() {
                    tracing::warn!(%error, "sqlite: checkpoint failed; will retry");
                }
            }
        }
    });
}

/// How far a checkpoint got: frames in the log, and frames copied to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpointed {
    pub log_frames: i64,
    pub copied_frames: i64,
}

/// One PASSIVE checkpoint: copies what no reader still needs from the log into
/// the database file.
async fn checkpoint(pool: &SqlitePool) -> sqlx::Result<Checkpointed> {
    let (_busy, log_frames, copied_frames): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await?;
    Ok(Checkpointed {
        log_frames,
        copied_frames,
    })
}

impl Store {
    /// Checkpoints the write-ahead log now, as the background task does; `None`
    /// on PostgreSQL, which looks after its own.
    pub async fn checkpoint(&self) -> crate::Result<Option<Checkpointed>> {
        match self {
            Store::Sqlite(pool) => Ok(Some(checkpoint(pool).await?)),
            Store::Postgres(_) => Ok(None),
        }
    }
}
