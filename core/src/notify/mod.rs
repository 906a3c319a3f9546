//! Notifications: the outbox and the emails it holds.
//!
//! Mail is queued in the `outbox` table in the same transaction as what caused
//! it, addressed to an identity (whose address is sealed in `identities`), with
//! whatever varies (a sign-in code) sealed to that identity. A sender
//! ([`deliver_due`]) opens it at sending time, renders a fixed text that never
//! carries health information, and hands it to a [`Transport`].

mod outbox;
mod render;

pub use outbox::{deliver_due, FileTransport, Transport, ENQUEUE_FOR_THREAD_SQL, ENQUEUE_SQL};
pub use render::{CodePayload, Email, NewItemPayload, StaffReplyPayload};

/// What a queued email is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    SignInCode,
    NewItem,
    /// To staff: a patient replied in their mailbox.
    StaffReply,
}

impl MailKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            MailKind::SignInCode => "sign_in_code",
            MailKind::NewItem => "new_item",
            MailKind::StaffReply => "staff_reply",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sign_in_code" => Some(MailKind::SignInCode),
            "new_item" => Some(MailKind::NewItem),
            "staff_reply" => Some(MailKind::StaffReply),
            _ => None,
        }
    }
}
