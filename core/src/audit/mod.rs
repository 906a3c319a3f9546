//! The tamper-evident audit log.
//!
//! Every view and every action becomes an [`AuditEvent`]: who ([`Actor`]), did
//! what ([`Action`]), to which ids, with what [`Outcome`], from where. Ids only,
//! never health information.
//!
//! - Write before serve: [`AuditLog::record`] returns only once the event is
//!   durably committed; a view whose event cannot be committed must fail.
//! - Group commit: one writer task per process batches everything queued into
//!   one transaction ([`writer`]).
//! - Append-only: database triggers refuse UPDATE and DELETE of audit rows.
//! - Tamper-evident: each row carries the SHA-256 of the row before it and of
//!   itself ([`chain`]); [`verify`] walks the chain and names the first bad row.
//! - [`export`] writes JSON lines or CSV. [`events_about`] finds every event
//!   naming an id (a patient's access history, a message's read receipts),
//!   [`events_by`] an actor's events, [`events_in_organization`] an
//!   organization's; newest first, a page at a time. [`access_history`] is a
//!   patient's own view of the events on their items.

mod access_history;
mod action;
mod append;
pub mod chain;
mod event;
pub(crate) mod export;
pub mod index;
mod read;
mod read_mark;
pub(crate) mod search;
mod verify;
pub mod writer;

pub use access_history::{
    access_history, AccessEntry, AccessHistoryPage, Accessor, Item, HISTORY_PAGE,
};
pub use action::Action;
pub(crate) use append::AppendWithin;
pub use append::Appender;
pub use chain::{AuditRow, GENESIS};
pub use event::{
    Actor, ActorKind, AuditEvent, Outcome, Seq, ID_MAX_LEN, SUBJECTS_MAX, USER_AGENT_MAX_CHARS,
};
pub use export::{export, ExportFormat};
pub use read::{events_about, events_by, events_in_organization, Page, RecordedEvent, PAGE_MAX};
pub use read_mark::ReadMark;
pub use search::AuditFilter;
pub use verify::{verify, ChainBreak, Problem, VerifyReport};
pub use writer::{AuditLog, BATCH_MAX};
