//! Administration on the page, for an organization's admins: its staff
//! (invite, change a role, disable) and its audit log (search, export). The server functions' server half is in
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

/// One event in the admin's audit search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLine {
    pub seq: i64,
    /// "2026-12-01 09:30 UTC"
    pub when: String,
    /// "Dr. Ana Ruiz (staff)", "patient 0190…", "API key 0190…", "system: expiry"
    pub who: String,
    /// The stored action name, such as `thread_viewed`.
    pub action: String,
    pub outcome: String,
    /// The ids it names, space-separated.
    pub subjects: String,
    pub from: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub lines: Vec<AuditLine>,
    /// Pass as `before` for the next (older) page.
    pub older: Option<i64>,
}

/// Staff of the admin's organization, for the search's staff filter: id and name.
#[server(endpoint = "admin_staff_names")]
pub async fn staff_names() -> Result<Vec<(String, String)>, ServerFnError> {
    Ok(admin_ssr::staff_list()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// Searches the organization's audit log. Every filter is optional (empty);
/// dates are `YYYY-MM-DD`, both days included. Posted, never in the address:
/// a patient's email must not sit in a URL or a server log.
#[server(endpoint = "admin_search_audit")]
pub async fn search_audit(
    patient_email: String,
    staff_id: String,
    action: String,
    since: String,
    until: String,
    before: Option<i64>,
) -> Result<AuditPage, ServerFnError> {
    let form = admin_ssr::AuditForm {
        patient_email,
        staff_id,
        action,
        since,
        until,
    };
    admin_ssr::search_audit(&form, before).await
}

/// The alert rules as the form shows them (empty: off), and the alerts raised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsPage {
    pub max_patients_per_hour: String,
    pub business_hours_start: String,
    pub business_hours_end: String,
    /// Empty: UTC.
    pub time_zone: String,
    pub alerts: Vec<AlertLine>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertLine {
    pub raised: String,
    pub rule: String,
    pub who: String,
    pub detail: String,
}

#[server(endpoint = "admin_alerts")]
pub async fn alert_settings() -> Result<AlertsPage, ServerFnError> {
    admin_ssr::alerts_page().await
}

/// Sets the rules; an empty field turns its rule off.
#[server(endpoint = "admin_set_alert_rules")]
pub async fn set_alert_rules(
    max_patients_per_hour: String,
    business_hours_start: String,
    business_hours_end: String,
    time_zone: String,
) -> Result<(), ServerFnError> {
    admin_ssr::set_alert_rules(
        &max_patients_per_hour,
        &business_hours_start,
        &business_hours_end,
        &time_zone,
    )
    .await
}

/// A mailbox, as the admin's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxRow {
    pub id: String,
    pub name: String,
    /// clinical, billing or general.
    pub kind: String,
}

/// An API key, as the admin's list shows it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub label: String,
    pub mailbox: String,
    pub created: String,
    pub last_used: String,
    pub revoked: bool,
    /// An `eob:publish` key (a health plan's), not one that sends messages.
    pub publishes: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemsPage {
    pub mailboxes: Vec<MailboxRow>,
    pub keys: Vec<KeyRow>,
    /// A health plan's admin may also make keys that publish statements.
    pub health_plan: bool,
}

#[server(endpoint = "admin_systems")]
pub async fn systems() -> Result<SystemsPage, ServerFnError> {
    admin_ssr::systems().await
}

#[server(endpoint = "admin_create_mailbox")]
pub async fn create_mailbox(name: String, kind: String) -> Result<(), ServerFnError> {
    admin_ssr::create_mailbox(&name, &kind).await
}

/// Creates a key; returns its secret, shown this once.
#[server(endpoint = "admin_create_api_key")]
pub async fn create_api_key(mailbox_id: String, label: String) -> Result<String, ServerFnError> {
    admin_ssr::create_api_key(&mailbox_id, &label).await
}

/// Creates a key that publishes the plan's statements; returns its secret,
/// shown this once.
#[server(endpoint = "admin_create_publisher_key")]
pub async fn create_publisher_key(label: String) -> Result<String, ServerFnError> {
    admin_ssr::create_publisher_key(&label).await
}

#[server(endpoint = "admin_revoke_api_key")]
pub async fn revoke_api_key(key_id: String) -> Result<(), ServerFnError> {
    admin_ssr::revoke_api_key(&key_id).await
}

/// The organization's branding as the form shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandingView {
    pub organization_id: String,
    pub display_name: String,
    pub colour: String,
    pub has_logo: bool,
}

#[server(endpoint = "admin_branding")]
pub async fn branding_settings() -> Result<BrandingView, ServerFnError> {
    admin_ssr::branding().await
}
