//! An organization's staff, as its admins manage them: the list, inviting
//! (an enrollment link, shown once), changing a role, and disabling an account,
//! which ends its sessions at once. Admins cannot change or disable their own
//! account, so an organization cannot lose its last admin by a slip.

use super::require_admin;
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    auth::{
        links::LinkToken,
        sessions::SessionRecords,
        staff::{StaffAccounts, StaffName, StaffRole},
        Client,
    },
    messages::StaffMember,
    store::{now_ms, on_pool, Store},
    vault::NormalizedEmail,
    Error, Result,
};

/// One staff account, as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffLine {
    pub staff_id: String,
    /// None for accounts made before names were kept.
    pub name: Option<String>,
    pub role: StaffRole,
    /// A password is set: the enrollment link was used.
    pub enrolled: bool,
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// The staff of `admin`'s organization, enabled first, then by name.
pub async fn list(store: &Store, admin: &StaffMember) -> Result<Vec<StaffLine>> {
    require_admin(admin)?;
    type Row = (String, Option<String>, String, bool, Option<i64>, i64);
    let rows: Vec<Row> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT id, display_name, role, password_hash IS NOT NULL, disabled_at, created_at \
         FROM staff_accounts WHERE organization_id = $1 \
         ORDER BY disabled_at IS NOT NULL, display_name, created_at LIMIT 1000"
    )
    .bind(&admin.organization_id)
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(
            |(staff_id, name, role, enrolled, disabled_at, created_at)| {
                Ok(StaffLine {
                    staff_id,
                    name,
                    role: StaffRole::parse(&role)?,
                    enrolled,
                    disabled: disabled_at.is_some(),
                    created_at,
                })
            },
        )
        .collect()
}

/// Invites a person to `admin`'s organization: their account, and the token
/// of their one-time enrollment link.
pub async fn invite(
    accounts: &StaffAccounts<'_>,
    admin: &StaffMember,
    email: &NormalizedEmail,
    name: &StaffName,
    role: StaffRole,
) -> Result<(String, LinkToken)> {
    require_admin(admin)?;
    accounts
        .add(
            &admin.organization_id,
            email,
            name,
            role,
            Actor::staff(&admin.staff_id),
        )
        .await
}

/// Gives a staff member of `admin`'s organization another role; it applies
/// from their next request.
pub async fn change_role(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    staff_id: &str,
    role: StaffRole,
    client: &Client,
) -> Result<()> {
    require_admin(admin)?;
    not_self(admin, staff_id, "change your own role")?;
    let changed = on_pool!(store, |pool| sqlx::query(
        "UPDATE staff_accounts SET role = $1 WHERE id = $2 AND organization_id = $3"
    )
    .bind(role.as_str())
    .bind(staff_id)
    .bind(&admin.organization_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(Error::NotFound);
    }
    let event = AuditEvent::new(
        Actor::staff(&admin.staff_id),
        Action::StaffRoleChanged,
        Outcome::Success,
    )
    .about(staff_id.to_owned())
    .about(format!("role:{}", role.as_str()))
    .in_organization(admin.organization_id.clone());
    audit.record(client.stamp(event)).await?;
    Ok(())
}

/// Disables a staff member of `admin`'s organization: they can no longer sign
/// in, and every session they have ends now. Returns how many sessions ended.
/// Disabling a disabled account again changes nothing but ends any session.
pub async fn disable(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    staff_id: &str,
    client: &Client,
) -> Result<u64> {
    require_admin(admin)?;
    not_self(admin, staff_id, "disable your own account")?;
    let found = on_pool!(store, |pool| sqlx::query(
        "UPDATE staff_accounts SET disabled_at = COALESCE(disabled_at, $1) \
         WHERE id = $2 AND organization_id = $3"
    )
    .bind(now_ms())
    .bind(staff_id)
    .bind(&admin.organization_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if found == 0 {
        return Err(Error::NotFound);
    }
    let ended = SessionRecords(store)
        .delete_person(&format!("staff:{staff_id}"))
        .await?;
    let event = AuditEvent::new(
        Actor::staff(&admin.staff_id),
        Action::StaffDisabled,
        Outcome::Success,
    )
    .about(staff_id.to_owned())
    .in_organization(admin.organization_id.clone());
    audit.record(client.stamp(event)).await?;
    Ok(ended)
}

fn not_self(admin: &StaffMember, staff_id: &str, what: &str) -> Result<()> {
    if admin.staff_id == staff_id {
        return Err(Error::Invalid {
            field: "staff",
            problem: format!("you cannot {what}; ask another admin"),
        });
    }
    Ok(())
}
