//! What happened: one [`Action`] for every view and every action in the portal.
//!
//! Each action is stored under a stable snake_case name. The names are part of
//! the hash chain and of six years of exported logs: never rename one (a test
//! lists them all and fails if one changes); add a new action instead.

use std::{fmt, str::FromStr};

/// Declares [`Action`] with its stored names, so each variant and its name sit
/// side by side and cannot drift apart.
macro_rules! actions {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )+) => {
        /// A view or action recorded in the audit log.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $( $(#[$doc])* $variant, )+
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )+ ];

            /// The stable name stored in the database and in exports.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Action::$variant => $name, )+
                }
            }

            /// The action stored under `name`, if there is one.
            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $( $name => Some(Action::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

actions! {
    // Patients and staff reading.
    /// A message (subject and body) was shown. Written until 2026-12; since then
    /// a thread's view names the messages it showed.
    MessageViewed => "message_viewed",
    /// A list of messages was shown.
    InboxViewed => "inbox_viewed",
    /// A thread of messages was shown; its subjects name each message shown.
    ThreadViewed => "thread_viewed",
    /// An attachment was downloaded.
    AttachmentDownloaded => "attachment_downloaded",
    /// The list of EOB statements was shown.
    EobListViewed => "eob_list_viewed",
    /// One EOB statement was shown.
    EobViewed => "eob_viewed",
    /// An EOB was downloaded as PDF.
    EobExportedPdf => "eob_exported_pdf",
    /// An EOB was downloaded as its original FHIR JSON.
    EobExportedFhirJson => "eob_exported_fhir_json",
    /// A patient looked at who viewed their records.
    AccessHistoryViewed => "access_history_viewed",

    // Items changing.
    /// A message or reply was sent.
    MessageSent => "message_sent",
    /// The sender revoked a message.
    MessageRevoked => "message_revoked",
    /// A message reached the expiry its sender set.
    MessageExpired => "message_expired",
    /// A health plan published an EOB (or a new version of one).
    EobPublished => "eob_published",
    /// A health plan mapped one of its member ids to an email address.
    MemberDirectoryUpdated => "member_directory_updated",

    // Signing in and sessions.
    /// A notification link was opened (its landing page shown; nothing granted).
    LinkOpened => "link_opened",
    /// A one-time sign-in code was emailed (or refused: too many this hour).
    CodeSent => "code_sent",
    /// A one-time code was typed wrong, or after it died.
    CodeRejected => "code_rejected",
    /// A one-time code was accepted.
    CodeAccepted => "code_accepted",
    /// Someone signed in with a passkey.
    PasskeyUsed => "passkey_used",
    /// Someone signed in.
    SignInSucceeded => "sign_in_succeeded",
    /// A sign-in attempt failed (wrong code, unknown passkey, wrong password).
    SignInFailed => "sign_in_failed",
    /// A passkey was registered.
    PasskeyAdded => "passkey_added",
    /// A passkey was removed.
    PasskeyRemoved => "passkey_removed",
    /// A session ended by idle or absolute timeout.
    SessionExpired => "session_expired",
    /// Someone signed out.
    SignedOut => "signed_out",
    /// Someone ended every one of their sessions.
    SignedOutEverywhere => "signed_out_everywhere",

    // Administration.
    /// A staff member was invited.
    StaffInvited => "staff_invited",
    /// A staff member's role changed.
    StaffRoleChanged => "staff_role_changed",
    /// A staff member was disabled.
    StaffDisabled => "staff_disabled",
    /// A mailbox (department) was created or changed.
    MailboxChanged => "mailbox_changed",
    /// An organization was added, or its settings (EOB checking) changed.
    OrganizationChanged => "organization_changed",
    /// An API key was created.
    ApiKeyCreated => "api_key_created",
    /// An API key was revoked.
    ApiKeyRevoked => "api_key_revoked",
    /// An organization's branding changed.
    BrandingChanged => "branding_changed",
    /// The audit log was searched.
    AuditSearched => "audit_searched",
    /// The audit log was exported.
    AuditExported => "audit_exported",
    /// The audit chain was checked.
    AuditVerified => "audit_verified",

    // The system.
    /// A security alert was raised (for example, many failed sign-ins).
    AlertRaised => "alert_raised",
    /// The root key was rotated and identity secrets re-wrapped.
    KeysRotated => "keys_rotated",
    /// An identity's secret was destroyed, making its items unreadable.
    IdentityErased => "identity_erased",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = crate::Error;

    fn from_str(name: &str) -> crate::Result<Self> {
        Action::from_name(name).ok_or_else(|| crate::Error::Invalid {
            field: "action",
            problem: format!("unknown audit action {name:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored names, written out by hand. Renaming an action breaks this test
    /// on purpose: six years of logs and the hash chain depend on these strings.
    const STORED_NAMES: &[(Action, &str)] = &[
        (Action::MessageViewed, "message_viewed"),
        (Action::InboxViewed, "inbox_viewed"),
        (Action::ThreadViewed, "thread_viewed"),
        (Action::AttachmentDownloaded, "attachment_downloaded"),
        (Action::EobListViewed, "eob_list_viewed"),
        (Action::EobViewed, "eob_viewed"),
        (Action::EobExportedPdf, "eob_exported_pdf"),
        (Action::EobExportedFhirJson, "eob_exported_fhir_json"),
        (Action::AccessHistoryViewed, "access_history_viewed"),
        (Action::MessageSent, "message_sent"),
        (Action::MessageRevoked, "message_revoked"),
        (Action::MessageExpired, "message_expired"),
        (Action::EobPublished, "eob_published"),
        (Action::MemberDirectoryUpdated, "member_directory_updated"),
        (Action::LinkOpened, "link_opened"),
        (Action::CodeSent, "code_sent"),
        (Action::CodeRejected, "code_rejected"),
        (Action::CodeAccepted, "code_accepted"),
        (Action::PasskeyUsed, "passkey_used"),
        (Action::SignInSucceeded, "sign_in_succeeded"),
        (Action::SignInFailed, "sign_in_failed"),
        (Action::PasskeyAdded, "passkey_added"),
        (Action::PasskeyRemoved, "passkey_removed"),
        (Action::SessionExpired, "session_expired"),
        (Action::SignedOut, "signed_out"),
        (Action::SignedOutEverywhere, "signed_out_everywhere"),
        (Action::StaffInvited, "staff_invited"),
        (Action::StaffRoleChanged, "staff_role_changed"),
        (Action::StaffDisabled, "staff_disabled"),
        (Action::MailboxChanged, "mailbox_changed"),
        (Action::OrganizationChanged, "organization_changed"),
        (Action::ApiKeyCreated, "api_key_created"),
        (Action::ApiKeyRevoked, "api_key_revoked"),
        (Action::BrandingChanged, "branding_changed"),
        (Action::AuditSearched, "audit_searched"),
        (Action::AuditExported, "audit_exported"),
        (Action::AuditVerified, "audit_verified"),
        (Action::AlertRaised, "alert_raised"),
        (Action::KeysRotated, "keys_rotated"),
        (Action::IdentityErased, "identity_erased"),
    ];

    #[test]
    fn every_action_keeps_its_stored_name_and_round_trips() {
        assert_eq!(
            Action::ALL.len(),
            STORED_NAMES.len(),
            "list every action here"
        );
        for (action, name) in STORED_NAMES {
            assert_eq!(action.as_str(), *name);
            assert_eq!(Action::from_name(name), Some(*action));
            assert_eq!(name.parse::<Action>().ok(), Some(*action));
            assert!(Action::ALL.contains(action));
        }
    }

    #[test]
    fn names_are_distinct_snake_case() {
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        for name in names {
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        }
        assert!(Action::from_name("Message_Viewed").is_none());
        assert!("message viewed".parse::<Action>().is_err());
    }
}
