//! Administration on the page, for an organization's admins: its staff
//! (invite, change a role, disable). The server functions' server half is in
//! `admin_ssr.rs`; the rules are in `portico_core::admin`.

#[cfg(feature = "ssr")]
pub mod admin_ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The roles an admin can give, as the form offers them: value and label.
pub const ROLES: [(&str, &str); 4] = [
    ("clinician", "Clinician"),
    ("staff", "Staff"),
    ("billing", "Billing"),
    ("admin", "Admin"),
];

/// One staff account in the admin's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRow {
    pub id: String,
    pub name: String,
    pub role: String,
    /// "Active", "Invited (not yet enrolled)" or "Disabled".
    pub status: String,
    pub disabled: bool,
    /// The admin looking at the list: no changes offered.
    pub is_you: bool,
}

/// The admin's organization's staff.
#[server(endpoint = "admin_staff")]
pub async fn admin_staff() -> Result<Vec<StaffRow>, ServerFnError> {
    admin_ssr::staff_list().await
}

/// Invites a person; returns their one-time enrollment link, shown once.
#[server(endpoint = "admin_invite_staff")]
pub async fn invite_staff(
    email: String,
    name: String,
    role: String,
) -> Result<String, ServerFnError> {
    admin_ssr::invite(&email, &name, &role).await
}

#[server(endpoint = "admin_change_role")]
pub async fn change_role(staff_id: String, role: String) -> Result<(), ServerFnError> {
    admin_ssr::change_role(&staff_id, &role).await
}

/// Disables an account and ends its sessions.
#[server(endpoint = "admin_disable_staff")]
pub async fn disable_staff(staff_id: String) -> Result<(), ServerFnError> {
    admin_ssr::disable(&staff_id).await
}
