//! The text of each email. Fixed wording; the only things that vary are a code,
//! a link and the sending organization's name, never a subject or a condition.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What a sign-in code email carries, sealed in the outbox until sent.
#[derive(Clone, Serialize, Deserialize)]
pub struct CodePayload {
    pub code: String,
    pub valid_minutes: u32,
}

impl CodePayload {
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing two plain fields cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|_| Error::Crypto("an outbox payload is malformed"))
    }
}

impl Drop for CodePayload {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.code);
    }
}

/// What a new-message notice carries, sealed in the outbox until sent: the
/// link's token (the link itself is made from the public address at sending).
#[derive(Clone, Serialize, Deserialize)]
pub struct NewItemPayload {
    pub token: String,
}

impl NewItemPayload {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|_| Error::Crypto("an outbox payload is malformed"))
    }
}

impl Drop for NewItemPayload {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
    }
}

/// What a staff member's notice of a patient's reply carries: which thread
/// (an id, linked to the staff thread page) and the mailbox's name.
#[derive(Clone, Serialize, Deserialize)]
pub struct StaffReplyPayload {
    pub thread_id: String,
    pub mailbox: String,
}

impl StaffReplyPayload {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|_| Error::Crypto("an outbox payload is malformed"))
    }
}

/// An email ready for a transport: plain text.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Email {
    /// The notice of a new message: who wrote and the link, nothing else: no
    /// subject, no body, no condition.
    pub fn new_item(organization: &str, link: &str) -> Self {
        Self {
            subject: "You have a new secure message".into(),
            text: format!(
                "{organization} sent you a secure message.\n\nTo read it, open this link and sign in:\n\n    {link}\n\n\
                 For your privacy this email does not say what the message is about.\n\n-- Portico secure messages\n"
            ),
        }
    }

    /// Tells staff that a patient replied in one of their mailboxes: the
    /// mailbox and a link to the thread (which asks them to sign in), nothing of
    /// the patient or the message.
    pub fn staff_reply(mailbox: &str, link: &str) -> Self {
        Self {
            subject: "A patient replied in your secure mailbox".into(),
            text: format!(
                "A patient replied in the {mailbox} mailbox.\n\nTo read it, sign in to Portico:\n\n    {link}\n\n\
                 -- Portico secure messages\n"
            ),
        }
    }

    /// The sign-in code email. `organization` is who the person came from, if anyone.
    pub fn sign_in_code(payload: &CodePayload, organization: Option<&str>) -> Self {
        let from = organization
            .map(|o| format!(" to read what {o} sent you"))
            .unwrap_or_default();
        Self {
            subject: "Your Portico sign-in code".into(),
            text: format!(
                "Your sign-in code{from} is:\n\n    {}\n\nIt works once, for {} minutes. \
                 If you did not ask for it, you can ignore this email: nobody can sign in \
                 without it.\n\n-- Portico secure messages\n",
                payload.code, payload.valid_minutes
            ),
        }
    }
}
