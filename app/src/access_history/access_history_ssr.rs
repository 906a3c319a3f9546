//! The server half of the access history: each core entry put into words.

use leptos::prelude::*;
use portico_core::audit::{self, AccessEntry, Accessor, Action, Item, Outcome, Seq};

use super::{HistoryLine, HistoryPage};
use crate::{
    auth::session::{client, failed, portal, signed_in_patient},
    messaging::messaging_ssr::when,
};

pub async fn page(before: Option<i64>) -> Result<HistoryPage, ServerFnError> {
    let p = portal()?;
    let id =
        signed_in_patient("the access history is for patients; staff see the audit log").await?;
    let page = audit::access_history(&p.store, &p.audit, &id, before.map(Seq), &client().await)
        .await
        .map_err(failed)?;
    Ok(HistoryPage {
        lines: page.entries.into_iter().map(line).collect(),
        older: page.older.map(|s| s.0),
    })
}

fn line(e: AccessEntry) -> HistoryLine {
    HistoryLine {
        when: when(e.occurred_at),
        who: who(&e.who),
        what: what(e.action).to_owned(),
        outcome: match e.outcome {
            Outcome::Success => None,
            Outcome::Denied => Some("Refused".to_owned()),
            Outcome::Failure => Some("Failed".to_owned()),
        },
        item: e.item.map(|item| match item {
            Item::Thread(id) => (format!("/thread/{id}"), "Open the conversation".to_owned()),
            Item::Statement(id) => (format!("/statements/{id}"), "Open the statement".to_owned()),
        }),
    }
}

/// Who acted, as a patient reads it.
pub fn who(who: &Accessor) -> String {
    match who {
        Accessor::You => "You".to_owned(),
        Accessor::Staff {
            name,
            role,
            organization,
        } => {
            let role = match role.as_str() {
                "admin" => "administrator",
                "clinician" => "clinician",
                "billing" => "billing staff",
                _ => "staff",
            };
            match name {
                Some(name) => format!("{name} ({role}), {organization}"),
                None => format!("A member of staff ({role}), {organization}"),
            }
        }
        Accessor::Organization { name } => format!("{name}, through its system"),
        Accessor::Portal => "Portico, automatically".to_owned(),
        Accessor::SomeoneElse => "Someone signed in as another person".to_owned(),
    }
}

/// What was done, as a patient reads it. Every action has words here: the
/// match has no catch-all, so a new action cannot be added without them.
pub fn what(action: Action) -> &'static str {
    match action {
        Action::MessageViewed => "opened a message",
        Action::InboxViewed => "looked at the list of messages",
        Action::ThreadViewed => "opened a conversation",
        Action::AttachmentDownloaded => "downloaded an attached file",
        Action::EobListViewed => "looked at the list of statements",
        Action::EobViewed => "opened a statement",
        Action::EobExportedPdf => "downloaded a statement as PDF",
        Action::EobExportedFhirJson => "downloaded a statement's data (FHIR JSON)",
        Action::AccessHistoryViewed => "looked at this access history",
        Action::MessageSent => "sent a message",
        Action::MessageRevoked => "withdrew a message",
        Action::MessageExpired => "withdrew a message when it expired",
        Action::EobPublished => "published a statement",
        Action::MemberDirectoryUpdated => "updated its member list",
        Action::LinkOpened => "opened a link from an email",
        Action::CodeSent => "asked for a sign-in code",
        Action::CodeRejected => "typed a sign-in code that did not work",
        Action::CodeAccepted => "used a sign-in code",
        Action::PasskeyUsed => "used a passkey",
        Action::SignInSucceeded => "signed in",
        Action::SignInFailed => "tried to sign in",
        Action::PasskeyAdded => "added a passkey",
        Action::PasskeyRemoved => "removed a passkey",
        Action::SessionExpired => "was signed out after a time",
        Action::SignedOut => "signed out",
        Action::SignedOutEverywhere => "signed out on every device",
        Action::StaffInvited => "invited a member of staff",
        Action::StaffRoleChanged => "changed a member of staff's role",
        Action::StaffDisabled => "disabled a member of staff",
        Action::MailboxChanged => "changed a mailbox",
        Action::OrganizationChanged => "changed an organization's settings",
        Action::ApiKeyCreated => "created an API key",
        Action::ApiKeyRevoked => "revoked an API key",
        Action::BrandingChanged => "changed an organization's branding",
        Action::AuditSearched => "searched the audit log",
        Action::AuditExported => "exported the audit log",
        Action::AuditVerified => "checked the audit log",
        Action::AlertRaised => "raised a security alert",
        Action::KeysRotated => "renewed the encryption keys",
        Action::IdentityErased => "erased this identity's key",
    }
}
