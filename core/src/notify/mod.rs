//! Notifications: the outbox and the emails it holds.
//!
//! Mail is queued in the `outbox` table in the same transaction as what caused
//! it, addressed to an identity (whose address is sealed in `identities`), with
//! whatever varies (a sign-in code, a link's token) sealed to that identity. A
//! sender ([`Courier`]) opens it at sending time, renders fixed words that never
//! carry health information (text and HTML), and hands the message to a
//! [`Transport`]: files ([`FileTransport`]) or SMTP ([`SmtpTransport`]).
//!
//! # Once, and never lost
//!
//! A sender claims due rows by leasing them (`leased_by`, `leased_until`) in one
//! statement: SQLite runs it under the write lock (`BEGIN IMMEDIATE`), PostgreSQL
//! skips rows another sender has locked (`FOR UPDATE SKIP LOCKED`). Two senders,
//! in one process or several, so never hold the same row. Before each email the
//! sender renews its lease and counts the attempt, and gives the row up if the
//! lease is no longer its own; one email may take at most `send_timeout` and a
//! lease lasts twice that and 5 seconds, so a live sender never loses a row it is
//! sending. Right after the server accepts an email (SMTP 250 after the data)
//! the row is marked sent, its sealed payload cleared, in a commit of its own.
//!
//! The window that remains is between the server's 250 and that commit (a crash,
//! a kill, the database gone for that moment), or a 250 lost on the wire. No
//! protocol closes it: SMTP has no two-phase commit. We choose to send again
//! rather than lose: the row's lease runs out and it is sent once more, with
//! the same `Message-ID` (`<outbox id@sender's domain>`), so a receiver can drop
//! the copy. Marking the row before sending would turn that rare duplicate into
//! a rare lost sign-in code or notice, which a patient cannot see is missing.
//! The window is a few milliseconds a message; nothing else resends.
//!
//! A failed send is retried with a delay that doubles (30 seconds up to an hour
//! by default) and given up after 12 attempts; `last_error` holds fixed words and
//! at most an SMTP status code, never an address or content. Logs name outbox
//! ids and counts only.

mod outbox;
mod render;
mod smtp;

pub use outbox::{
    backlog, deliver_due, mark_all_sent_unsent, Courier, Delivery, FileTransport, Transport,
    ENQUEUE_FOR_THREAD_SQL, ENQUEUE_SQL,
};
pub use render::{
    message_id, AlertPayload, CodePayload, Email, Logo, NewItemPayload, Payload, StaffReplyPayload,
};
pub use smtp::SmtpTransport;

/// What a queued email is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    SignInCode,
    NewItem,
    /// To staff: a patient replied in their mailbox.
    StaffReply,
    /// To a member: a health plan published statements (at most one a day per plan).
    NewStatements,
    /// To an organization's admins: a behavioural alert was raised.
    SecurityAlert,
}

impl MailKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            MailKind::SignInCode => "sign_in_code",
            MailKind::NewItem => "new_item",
            MailKind::StaffReply => "staff_reply",
            MailKind::NewStatements => "new_statements",
            MailKind::SecurityAlert => "security_alert",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sign_in_code" => Some(MailKind::SignInCode),
            "new_item" => Some(MailKind::NewItem),
            "staff_reply" => Some(MailKind::StaffReply),
            "new_statements" => Some(MailKind::NewStatements),
            "security_alert" => Some(MailKind::SecurityAlert),
            _ => None,
        }
    }
}
