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
