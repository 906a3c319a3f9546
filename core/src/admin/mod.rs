//! What an organization's admins do, and only they: manage their staff (invite,
//! change roles, disable). Every function takes the acting admin, refuses
//! anyone else with [`Error::Denied`], reaches only the admin's own
//! organization (another's staff are [`Error::NotFound`]) and records what it
//! did in the audit log.

pub mod audit_log;
pub mod staff;

use crate::{auth::staff::StaffRole, messages::StaffMember, Error, Result};

fn require_admin(member: &StaffMember) -> Result<()> {
    if member.role == StaffRole::Admin {
        Ok(())
    } else {
        Err(Error::Denied)
    }
}
