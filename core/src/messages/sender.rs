//! Who starts a thread: a staff member, from a mailbox their role may use, or
//! an organization's system by API key, from the one mailbox the key is for.

use super::{Mailbox, Messaging, StaffMember};
use crate::{api_keys::ApiKey, audit::Actor};

/// The author of a new thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sender {
    Staff(StaffMember),
    ApiKey(ApiKey),
}

impl From<&StaffMember> for Sender {
    fn from(staff: &StaffMember) -> Self {
        Sender::Staff(staff.clone())
    }
}

impl From<&ApiKey> for Sender {
    fn from(key: &ApiKey) -> Self {
        Sender::ApiKey(key.clone())
    }
}

impl Sender {
    /// Whether this sender may write from `mailbox`.
    pub(super) fn may_send_from(&self, mailbox: &Mailbox) -> bool {
        match self {
            Sender::Staff(staff) => Messaging::may_use(staff, mailbox),
            Sender::ApiKey(key) => {
                key.revoked_at.is_none()
                    && key.scope == crate::api_keys::Scope::SendMessages
                    && key.mailbox_id == mailbox.id
                    && key.organization_id == mailbox.organization_id
            }
        }
    }

    /// As stored in `messages.author_kind`.
    pub(super) fn author_kind(&self) -> &'static str {
        match self {
            Sender::Staff(_) => "staff",
            Sender::ApiKey(_) => "api_key",
        }
    }

    pub(super) fn author_id(&self) -> &str {
        match self {
            Sender::Staff(staff) => &staff.staff_id,
            Sender::ApiKey(key) => &key.id,
        }
    }

    pub(super) fn actor(&self) -> Actor {
        match self {
            Sender::Staff(staff) => Actor::staff(&staff.staff_id),
            Sender::ApiKey(key) => Actor::api_key(&key.id),
        }
    }
}
