//! What an organization's admins do, and only they: manage their staff
//! (invite, change roles, disable), their mailboxes and API keys, and review
//! their audit log. Every function takes the acting admin, refuses anyone else
//! with [`Error::Denied`], reaches only the admin's own organization (another's
//! staff or keys are [`Error::NotFound`]) and records what it did in the audit
//! log. Alert rules are in [`crate::alerts`].

pub mod audit_log;
pub mod branding;
pub mod integrations;
pub mod staff;

use crate::{auth::staff::StaffRole, messages::StaffMember, Error, Result};

pub(crate) fn require_admin(member: &StaffMember) -> Result<()> {
    if member.role == StaffRole::Admin {
        Ok(())
    } else {
        Err(Error::Denied)
    }
}
