//! The server half of the access history: each core entry put into words.

use leptos::prelude::*;
use portico_core::audit::{self, AccessEntry, Accessor, Action, Item, Outcome, Seq};

use super::{HistoryLine, HistoryPage};
use crate::{
    auth::session::{client, failed, portal, signed_in_patient},
    i18n::{
        fill,
        records::{texts, Texts},
    },
    messaging::messaging_ssr::when,
};

pub async fn page(before: Option<i64>) -> Result<HistoryPage, ServerFnError> {
    let p = portal()?;
    // Only staff are refused here: in English.
    let id =
        signed_in_patient("the access history is for patients; staff see the audit log").await?;
    let page = audit::access_history(&p.store, &p.audit, &id, before.map(Seq), &client().await)
        .await
        .map_err(failed)?;
    let t = texts();
    Ok(HistoryPage {
        lines: page.entries.into_iter().map(|e| line(t, e)).collect(),
        older: page.older.map(|s| s.0),
    })
}

/// An entry in words, in `t`'s language.
fn line(t: &Texts, e: AccessEntry) -> HistoryLine {
    HistoryLine {
        when: when(e.occurred_at),
        who: who(t, &e.who),
        what: what(t, e.action).to_owned(),
        outcome: match e.outcome {
            Outcome::Success => None,
            Outcome::Denied => Some(t.refused.to_owned()),
            Outcome::Failure => Some(t.failed.to_owned()),
        },
        item: e.item.map(|item| match item {
            Item::Thread(id) => (format!("/thread/{id}"), t.open_the_conversation.to_owned()),
            Item::Statement(id) => (format!("/statements/{id}"), t.open_the_statement.to_owned()),
        }),
    }
}

/// Who acted, as a patient reads it in `t`'s language.
pub fn who(t: &Texts, who: &Accessor) -> String {
    match who {
        Accessor::You => t.you.to_owned(),
        Accessor::Staff {
            name,
            role,
            organization,
        } => {
            let role = match role.as_str() {
                "admin" => t.role_admin,
                "clinician" => t.role_clinician,
                "billing" => t.role_billing,
                _ => t.role_staff,
            };
            match name {
                Some(name) => format!("{name} ({role}), {organization}"),
                None => fill(
                    t.unnamed_staff,
                    &[("role", role), ("organization", organization.as_str())],
                ),
            }
        }
        Accessor::Organization { name } => {
            fill(t.through_its_system, &[("organization", name.as_str())])
        }
        Accessor::Portal => t.portico_automatically.to_owned(),
        Accessor::SomeoneElse => t.someone_else.to_owned(),
    }
}

/// What was done, as a patient reads it in `t`'s language. Every action has
/// words here: the match has no catch-all, so a new action cannot be added
/// without them.
pub fn what(t: &Texts, action: Action) -> &'static str {
    match action {
        Action::MessageViewed => t.message_viewed,
        Action::InboxViewed => t.inbox_viewed,
        Action::ThreadViewed => t.thread_viewed,
        Action::AttachmentDownloaded => t.attachment_downloaded,
        Action::EobListViewed => t.eob_list_viewed,
        Action::EobViewed => t.eob_viewed,
        Action::EobExportedPdf => t.eob_exported_pdf,
        Action::EobExportedFhirJson => t.eob_exported_fhir_json,
        Action::AccessHistoryViewed => t.access_history_viewed,
        Action::MessageSent => t.message_sent,
        Action::MessageRevoked => t.message_revoked,
        Action::MessageExpired => t.message_expired,
        Action::EobPublished => t.eob_published,
        Action::MemberDirectoryUpdated => t.member_directory_updated,
        Action::LinkOpened => t.link_opened,
        Action::CodeSent => t.code_sent,
        Action::CodeRejected => t.code_rejected,
        Action::CodeAccepted => t.code_accepted,
        Action::PasskeyUsed => t.passkey_used,
        Action::SignInSucceeded => t.sign_in_succeeded,
        Action::SignInFailed => t.sign_in_failed,
        Action::PasskeyAdded => t.passkey_added,
        Action::PasskeyRemoved => t.passkey_removed,
        Action::SessionExpired => t.session_expired,
        Action::SignedOut => t.signed_out,
        Action::SignedOutEverywhere => t.signed_out_everywhere,
        Action::StaffInvited => t.staff_invited,
        Action::StaffRoleChanged => t.staff_role_changed,
        Action::StaffDisabled => t.staff_disabled,
        Action::MailboxChanged => t.mailbox_changed,
        Action::OrganizationChanged => t.organization_changed,
        Action::ApiKeyCreated => t.api_key_created,
        Action::ApiKeyRevoked => t.api_key_revoked,
        Action::BrandingChanged => t.branding_changed,
        Action::AuditSearched => t.audit_searched,
        Action::AuditExported => t.audit_exported,
        Action::AuditVerified => t.audit_verified,
        Action::AlertRaised => t.alert_raised,
        Action::KeysRotated => t.keys_rotated,
        Action::IdentityErased => t.identity_erased,
    }
}
