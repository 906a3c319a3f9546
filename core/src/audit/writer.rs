//! The audit log handle and its one writer task (group commit).
//!
//! A view must not be served unless its event is committed ("write before
//! serve"), yet one transaction per event would cap the portal at the disk's sync
//! rate. So every request hands its event to a single writer task over a channel
//! and waits; the writer takes everything queued (up to [`BATCH_MAX`]), appends
//! it in one transaction, and only then answers each caller: with its seq, or,
//! if the transaction failed, with an error for every caller in the batch.
//!
//! An event may bring the read state its view leaves ([`ReadMark`]): the mark
//! is written in the event's batch transaction, so it costs no commit of its own.
//!
//! A batch refused by the database (rather than lost with its connection) is
//! tried again one event at a time (each with its own mark), so one event the
//! database will not take fails only its own caller, not the hundreds that
//! happened to share its batch.
//!
//! Between batches the writer also fills the id index ([`index`](super::index)):
//! once [`INDEX_EVERY`] events are waiting for it, or [`INDEX_DELAY`] after the
//! first of them, and before it stops.

use std::time::Duration;

use tokio::{
    sync::{mpsc, oneshot, watch},
    time::{sleep_until, Instant},
};

use super::{append::Appender, index, AuditEvent, ReadMark, Seq};
use crate::{store::Store, Error, Result};

/// The most events written in one transaction.
pub const BATCH_MAX: usize = 512;
/// The metric the writer records each batch's commit time in, in seconds.
pub const COMMIT_SECONDS: &str = "portico_audit_commit_seconds";
/// Events waiting beyond this make `record` wait for room (back-pressure).
const QUEUE_CAPACITY: usize = 8192;
/// The id index is filled once this many events wait for it…
pub const INDEX_EVERY: usize = INDEX_STEP as usize;
/// …or this long after the first of them was committed.
pub const INDEX_DELAY: Duration = Duration::from_millis(250);
/// The most events indexed in one step. On SQLite a step holds the write lock,
/// so every view waiting for its audit commit waits for the step too. Under
/// the view benchmark (3,000 views a second) a step of 1,024 events (about
/// 3,000 scattered index entries, then the checkpoint they bring on) stopped
/// every view in flight for 40–70 ms three times a second: that stall was the
/// view's p99. Steps of 64 events take a few milliseconds each, alternate with
/// batches of events, and write about the same pages in all (the ids a step
/// shares are few at any size).
pub const INDEX_STEP: i64 = 64;

enum Command {
    Record(AuditEvent, Option<ReadMark>, oneshot::Sender<Result<Seq>>),
    /// Events were appended outside the writer: index them soon.
    IndexSoon,
    Shutdown,
}

/// The audit log. Start one per process with [`AuditLog::start`] and clone it
/// into every request handler and worker; clones share the one writer.
///
/// Several processes (instances behind a load balancer) may each run their own:
/// they still extend one chain, because every batch locks the chain head in the
/// database.
///
/// Closing the store while the log runs is safe: the writer gives back the
/// connection it keeps, so the close can finish, and later records fail.
#[derive(Clone)]
pub struct AuditLog {
    commands: mpsc::Sender<Command>,
    /// Closed (its sender dropped) when the writer task has finished.
    stopped: watch::Receiver<()>,
}

impl AuditLog {
    /// Spawns the writer task on the current Tokio runtime (and so panics
    /// outside one, as `tokio::spawn` does).
    pub fn start(store: Store) -> Self {
        let (commands, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (stopped_tx, stopped) = watch::channel(());
        tokio::spawn(run_writer(receiver, Appender::new(store), stopped_tx));
        Self { commands, stopped }
    }

    /// Records `event` and returns its seq once it is durably committed. An error
    /// means the event is not recorded: the caller must not show the content or
    /// perform the action it describes. [`Error::Invalid`] names a rule the event
    /// breaks (see [`AuditEvent::check`]); [`Error::AuditUnavailable`] means the
    /// database did not take it, or the log is shut down.
    pub async fn record(&self, event: AuditEvent) -> Result<Seq> {
        self.record_marking(event, None).await
    }

    /// Records `event` as [`record`](Self::record) does, and writes `mark` (if
    /// any) in the same transaction: a view and the read state it leaves are
    /// committed together, or not at all, and the mark costs no commit of its own.
    pub async fn record_marking(&self, event: AuditEvent, mark: Option<ReadMark>) -> Result<Seq> {
        event.check()?;
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Record(event, mark, reply))
            .await
            .map_err(|_| shut_down())?;
        // A dropped reply means the writer stopped without answering.
        answer.await.map_err(|_| shut_down())?
    }

    /// Asks the writer to fill the id index soon, after events were appended
    /// inside another transaction (which the writer does not see).
    pub async fn index_soon(&self) {
        let _ = self.commands.send(Command::IndexSoon).await;
    }

    /// Events waiting for the writer now (the queue's depth, for monitoring).
    pub fn queued(&self) -> usize {
        self.commands.max_capacity() - self.commands.capacity()
    }

    /// Stops taking events, writes every event already queued, and returns when
    /// the writer has finished. Later `record` calls fail. Dropping every handle
    /// drains the queue in the same way, without waiting.
    pub async fn shutdown(&self) {
        let _ = self.commands.send(Command::Shutdown).await;
        let mut stopped = self.stopped.clone();
        // Resolves with an error once the writer drops its sender, i.e. has finished.
        while stopped.changed().await.is_ok() {}
    }
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("queued", &(QUEUE_CAPACITY - self.commands.capacity()))
            .finish()
    }
}

fn shut_down() -> Error {
    Error::AuditUnavailable("the audit log is shut down".into())
}

async fn run_writer(
    mut commands: mpsc::Receiver<Command>,
    mut appender: Appender,
    _stopped: watch::Sender<()>,
) {
    let mut queued = Vec::with_capacity(BATCH_MAX);
    let mut events = Vec::with_capacity(BATCH_MAX);
    let mut marks = Vec::with_capacity(BATCH_MAX);
    let mut replies = Vec::with_capacity(BATCH_MAX);
    let mut pool_closed = std::pin::pin!(appender.pool_closed());
    let mut pool_open = true;
    // Events committed but not yet in the id index, and when to index them. At
    // start, index at once whatever an earlier process left unindexed.
    let mut unindexed = 0;
    let mut index_at = Some(Instant::now());
    loop {
        let received = tokio::select! {
            received = commands.recv_many(&mut queued, BATCH_MAX) => received,
            () = &mut pool_closed, if pool_open => {
                // The store is closing: give the connection back so the close can
                // finish. Later batches fail to get one, and their callers are told.
                pool_open = false;
                index_at = None;
                appender.release_connection();
                continue;
            }
            () = sleep_until(index_at.unwrap_or_else(Instant::now)), if index_at.is_some() => {
                index_at = fill_index(&appender, &mut unindexed).await;
                continue;
            }
        };
        // Zero once every handle is dropped (or the channel closed) and the queue is empty.
        if received == 0 {
            break;
        }
        for command in queued.drain(..) {
            match command {
                Command::Record(event, mark, reply) => {
                    events.push(event);
                    marks.push(mark);
                    replies.push(reply);
                }
                // Refuse new events; those already queued are still written.
                Command::Shutdown => commands.close(),
                Command::IndexSoon => {
                    // Also makes the writer index them before it stops.
                    unindexed = unindexed.max(1);
                    if pool_open && index_at.is_none() {
                        index_at = Some(Instant::now() + INDEX_DELAY);
                    }
                }
            }
        }
        if events.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        let committed = write_batch(&mut appender, &events, &marks, &mut replies).await;
        // For monitoring, through the `metrics` facade (a no-op unless the
        // binary installs an exporter): how long each batch took to commit.
        metrics::histogram!(COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
        events.clear();
        marks.clear();
        if committed > 0 && pool_open {
            unindexed += committed;
            if unindexed >= INDEX_EVERY {
                index_at = fill_index(&appender, &mut unindexed).await;
            } else if index_at.is_none() {
                index_at = Some(Instant::now() + INDEX_DELAY);
            }
        }
    }
    if pool_open && unindexed > 0 {
        fill_index(&appender, &mut unindexed).await;
    }
}

/// Appends `events` with their read `marks` (one entry per event) and answers
/// their callers (draining `replies`); returns how many were committed.
async fn write_batch(
    appender: &mut Appender,
    events: &[AuditEvent],
    marks: &[Option<ReadMark>],
    replies: &mut Vec<oneshot::Sender<Result<Seq>>>,
) -> usize {
    match appender.append_marking(events, marks).await {
        Ok(seqs) => {
            for (reply, seq) in replies.drain(..).zip(seqs) {
                // A caller that gave up waiting is no longer listening; fine.
                let _ = reply.send(Ok(seq));
            }
            events.len()
        }
        // Refused by the database: find the events it refuses, one by one.
        Err(error) if events.len() > 1 && appender.refused(&error) => {
            tracing::warn!(%error, events = events.len(), "audit: batch refused, writing its events one by one");
            let mut committed = 0;
            for ((event, mark), reply) in events.iter().zip(marks).zip(replies.drain(..)) {
                let answer = appender
                    .append_marking(std::slice::from_ref(event), std::slice::from_ref(mark))
                    .await
                    .map(|seqs| seqs[0])
                    .map_err(unavailable);
                committed += usize::from(answer.is_ok());
                let _ = reply.send(answer);
            }
            committed
        }
        Err(error) => {
            tracing::error!(%error, events = events.len(), "audit: batch not committed");
            let message = error.to_string();
            for reply in replies.drain(..) {
                let _ = reply.send(Err(Error::AuditUnavailable(message.clone())));
            }
            0
        }
    }
}

fn unavailable(error: Error) -> Error {
    tracing::error!(%error, "audit: event not committed");
    Error::AuditUnavailable(error.to_string())
}

/// Fills the id index with what is pending; returns when to try again (never,
/// if it is complete). A failure leaves the log itself untouched: the events are
/// committed, readers still find them in the unindexed tail.
async fn fill_index(appender: &Appender, unindexed: &mut usize) -> Option<Instant> {
    match index::index_pending(appender.store(), INDEX_STEP).await {
        Ok(n) if (n as i64) < INDEX_STEP => {
            *unindexed = 0;
            None
        }
        // More is left than one batch takes: go on soon, between batches of events.
        Ok(_) => Some(Instant::now()),
        Err(error) => {
            tracing::error!(%error, "audit: the id index could not be filled; will retry");
            Some(Instant::now() + INDEX_DELAY * 4)
        }
    }
}
