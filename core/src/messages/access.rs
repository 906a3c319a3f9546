//! Who may read and write which mailbox: the role × mailbox-kind matrix.
//! Clinical mailboxes are for clinicians only; billing staff never see one.

use crate::auth::staff::StaffRole;

/// What a mailbox handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailboxKind {
    /// Care: results, visits, prescriptions.
    Clinical,
    /// Bills and payments.
    Billing,
    /// The front desk: appointments, forms, general questions.
    General,
}

impl MailboxKind {
    pub const ALL: [MailboxKind; 3] = [
        MailboxKind::Clinical,
        MailboxKind::Billing,
        MailboxKind::General,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            MailboxKind::Clinical => "clinical",
            MailboxKind::Billing => "billing",
            MailboxKind::General => "general",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        MailboxKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// True when a staff member with `role` may read and answer a `kind` mailbox
/// of their own organization.
pub const fn role_may_use(role: StaffRole, kind: MailboxKind) -> bool {
    matches!(
        (role, kind),
        (
            StaffRole::Clinician,
            MailboxKind::Clinical | MailboxKind::General
        ) | (StaffRole::Staff, MailboxKind::General)
            | (
                StaffRole::Billing,
                MailboxKind::Billing | MailboxKind::General
            )
            | (
                StaffRole::Admin,
                MailboxKind::Billing | MailboxKind::General
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use MailboxKind::{Clinical, General};
    use StaffRole::{Admin, Clinician, Staff};

    /// The whole matrix, written out: a change to who reads what must change this.
    #[test]
    fn the_role_by_mailbox_matrix() {
        let expected = [
            (Clinician, [true, false, true]),
            (Staff, [false, false, true]),
            (StaffRole::Billing, [false, true, true]),
            (Admin, [false, true, true]),
        ];
        for (role, row) in expected {
            for (kind, may) in [Clinical, MailboxKind::Billing, General]
                .into_iter()
                .zip(row)
            {
                assert_eq!(role_may_use(role, kind), may, "{role:?} × {kind:?}");
            }
        }
        assert!(
            !role_may_use(StaffRole::Billing, Clinical),
            "billing never sees clinical"
        );
    }

    #[test]
    fn kinds_keep_their_stored_names() {
        for kind in MailboxKind::ALL {
            assert_eq!(MailboxKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MailboxKind::parse("Clinical"), None);
    }
}
