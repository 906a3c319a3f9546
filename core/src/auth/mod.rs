//! Signing in: notification links ([`links`]) and one-time codes ([`codes`]).
//! Every step is recorded in the audit log; nothing here knows of HTTP.

pub mod codes;
pub mod links;
pub mod passkeys;
pub mod passwords;
pub mod sessions;
pub mod staff;

use std::net::IpAddr;

use crate::audit::AuditEvent;

/// Who is at the other end of a request, as the audit log records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Client {
    pub address: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The language the person reads the portal in: a code email asked for in
    /// this request is written in it, and signing in keeps it for later emails.
    pub language: crate::language::Language,
}

impl Client {
    /// `event`, stamped with this client's address and user agent.
    pub fn stamp(&self, event: AuditEvent) -> AuditEvent {
        event.from_client(self.address, self.user_agent.as_deref())
    }
}
