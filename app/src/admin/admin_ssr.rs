//! The server half of the admin functions.

use leptos::prelude::*;
use portico_core::{
    admin::staff,
    auth::staff::{StaffName, StaffRole},
    vault::NormalizedEmail,
};

use super::StaffRow;
use crate::{
    auth::session::{client, failed, passwords, portal, staff_accounts},
    messaging::messaging_ssr::staff_member,
};

/// As [`failed`], with words of its own for someone who is not an admin.
fn admin_failed(error: portico_core::Error) -> ServerFnError {
    let denied = matches!(error, portico_core::Error::Denied);
    let answer = failed(error);
    if denied {
        ServerFnError::new("only your organization's admins can manage its staff")
    } else {
        answer
    }
}

pub async fn staff_list() -> Result<Vec<StaffRow>, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let lines = staff::list(&p.store, &admin).await.map_err(admin_failed)?;
    Ok(lines
        .into_iter()
        .map(|l| StaffRow {
            is_you: l.staff_id == admin.staff_id,
            name: l.name.unwrap_or_else(|| "(no name)".to_owned()),
            role: l.role.as_str().to_owned(),
            status: match (l.disabled, l.enrolled) {
                (true, _) => "Disabled",
                (false, false) => "Invited (not yet enrolled)",
                (false, true) => "Active",
            }
            .to_owned(),
            disabled: l.disabled,
            id: l.staff_id,
        })
        .collect())
}

pub async fn invite(email: &str, name: &str, role: &str) -> Result<String, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let email = NormalizedEmail::parse(email).map_err(failed)?;
    let name = StaffName::parse(name).map_err(failed)?;
    let role = StaffRole::parse(role).map_err(failed)?;
    let passwords = passwords()?;
    let (_, token) = staff::invite(&staff_accounts(&p, &passwords), &admin, &email, &name, role)
        .await
        .map_err(admin_failed)?;
    let mut link = p.settings.public_url.clone();
    link.set_path(&format!("/enroll/{}", token.as_str()));
    Ok(link.to_string())
}

pub async fn change_role(staff_id: &str, role: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let role = StaffRole::parse(role).map_err(failed)?;
    staff::change_role(&p.store, &p.audit, &admin, staff_id, role, &client().await)
        .await
        .map_err(admin_failed)
}

pub async fn disable(staff_id: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    staff::disable(&p.store, &p.audit, &admin, staff_id, &client().await)
        .await
        .map(drop)
        .map_err(admin_failed)
}
