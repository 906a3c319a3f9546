//! The read state a view leaves behind, committed with the view's event.
//!
//! A patient's (or a mailbox's) first view of a thread marks it read. Written
//! on its own, that mark was a transaction of its own: one more commit, and
//! one more wait for the write lock, on the page read most. Handed to the
//! audit writer with the view's event instead, it goes into the same batch
//! transaction: the view and its mark are committed together, or neither is,
//! and the mark costs no commit of its own.

/// Marks `thread_id` read by `reader` (`patient:<identity id>` or
/// `mailbox:<mailbox id>`) up to `read_at`, unless it already was read further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadMark {
    pub thread_id: String,
    pub reader: String,
    /// Unix milliseconds: the newest message the reader was shown.
    pub read_at: i64,
}

/// Never moves a mark back: a view of an older state of the thread, committed
/// later, leaves the newer mark in place.
pub(super) const UPSERT_SQL: &str =
    "INSERT INTO thread_reads (thread_id, reader, last_read_at) VALUES ($1, $2, $3) \
     ON CONFLICT (thread_id, reader) DO UPDATE SET last_read_at = excluded.last_read_at \
     WHERE thread_reads.last_read_at < excluded.last_read_at";
