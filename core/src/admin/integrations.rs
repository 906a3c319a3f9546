//! An organization's mailboxes and API keys, as its admins manage them: list
//! and create mailboxes; list, create (the secret shown once) and revoke the
//! keys its systems use to send messages. Keys of another organization are
//! not found.

use super::require_admin;
use crate::{
    api_keys::{ApiKey, ApiKeySecret, ApiKeys},
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::Client,
    messages::{self, Mailbox, MailboxKind, StaffMember},
    store::Store,
    Error, Result,
};

pub async fn mailboxes(store: &Store, admin: &StaffMember) -> Result<Vec<Mailbox>> {
    require_admin(admin)?;
    messages::mailboxes(store, &admin.organization_id).await
}

pub async fn create_mailbox(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    name: &str,
    kind: MailboxKind,
    client: &Client,
) -> Result<Mailbox> {
    require_admin(admin)?;
    let mailbox = messages::create_mailbox(store, &admin.organization_id, name, kind).await?;
    let event = AuditEvent::new(
        Actor::staff(&admin.staff_id),
        Action::MailboxChanged,
        Outcome::Success,
    )
    .about(mailbox.id.clone())
    .in_organization(admin.organization_id.clone());
    audit.record(client.stamp(event)).await?;
    Ok(mailbox)
}

pub async fn api_keys(keys: &ApiKeys<'_>, admin: &StaffMember) -> Result<Vec<ApiKey>> {
    require_admin(admin)?;
    keys.list(&admin.organization_id).await
}

/// A key that sends messages from one of the organization's mailboxes, and
/// its secret, which is shown this once.
pub async fn create_api_key(
    keys: &ApiKeys<'_>,
    admin: &StaffMember,
    mailbox_id: &str,
    label: &str,
) -> Result<(ApiKey, ApiKeySecret)> {
    require_admin(admin)?;
    keys.create(
        &admin.organization_id,
        mailbox_id,
        label,
        Actor::staff(&admin.staff_id),
    )
    .await
}

/// A key that publishes the organization's Explanation of Benefits statements
/// (a health plan's only; it enrolls the plan on first use), and its secret,
/// which is shown this once.
pub async fn create_publisher_key(
    keys: &ApiKeys<'_>,
    admin: &StaffMember,
    label: &str,
) -> Result<(ApiKey, ApiKeySecret)> {
    require_admin(admin)?;
    crate::eob::plans::create_publisher_key(
        keys,
        &admin.organization_id,
        label,
        Actor::staff(&admin.staff_id),
    )
    .await
}

/// Revokes one of the organization's keys: refused from its next request on.
pub async fn revoke_api_key(keys: &ApiKeys<'_>, admin: &StaffMember, key_id: &str) -> Result<()> {
    require_admin(admin)?;
    let ours = keys
        .list(&admin.organization_id)
        .await?
        .iter()
        .any(|k| k.id == key_id);
    if !ours {
        return Err(Error::NotFound);
    }
    keys.revoke(key_id, Actor::staff(&admin.staff_id))
        .await
        .map(drop)
}
