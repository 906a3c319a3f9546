//! Health plans that publish EOBs: each has a member-services mailbox (where
//! its members ask for corrections, and whose key every EOB it publishes is
//! also sealed to) and a strictness setting for the CARIN expectations.

use crate::{
    api_keys::{ApiKey, ApiKeySecret, ApiKeys, Scope},
    audit::Actor,
    messages::{self, MailboxKind},
    store::{now_ms, on_pool, OrganizationKind, Store},
    Error, Result,
};

/// The name of the mailbox made for a plan's members.
pub const MEMBER_SERVICES: &str = "Member services";

/// A health plan, as publishing needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthPlan {
    pub organization_id: String,
    /// The name members see, such as "Acme Health Plan".
    pub name: String,
    pub mailbox_id: String,
    /// CARIN Blue Button expectations are errors rather than warnings.
    pub strict: bool,
}

/// The plan `organization_id` publishes as: [`Error::NotFound`] when it has
/// not been set up to publish (see [`enroll`]).
pub async fn plan(store: &Store, organization_id: &str) -> Result<HealthPlan> {
    let row: Option<(String, bool, String)> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT p.member_services_mailbox_id, p.strict, o.display_name \
         FROM health_plans p JOIN organizations o ON o.id = p.organization_id \
         WHERE p.organization_id = $1"
    )
    .bind(organization_id)
    .fetch_optional(pool)
    .await)?;
    let (mailbox_id, strict, name) = row.ok_or(Error::NotFound)?;
    Ok(HealthPlan {
        organization_id: organization_id.to_owned(),
        name,
        mailbox_id,
        strict,
    })
}

/// Sets a health plan up to publish, making its member-services mailbox the
/// first time; the same plan again is returned unchanged. Providers are refused.
pub async fn enroll(store: &Store, organization_id: &str) -> Result<HealthPlan> {
    match plan(store, organization_id).await {
        Err(Error::NotFound) => {}
        other => return other,
    }
    let org = store.organizations().get(organization_id).await?;
    if org.kind != OrganizationKind::HealthPlan {
        return Err(Error::Invalid {
            field: "organization",
            problem: "only a health plan publishes EOBs".into(),
        });
    }
    let mailbox = messages::create_mailbox(
        store,
        organization_id,
        MEMBER_SERVICES,
        MailboxKind::General,
    )
    .await?;
    on_pool!(store, |pool| sqlx::query(
        "INSERT INTO health_plans (organization_id, member_services_mailbox_id, created_at) \
         VALUES ($1, $2, $3) ON CONFLICT (organization_id) DO NOTHING"
    )
    .bind(organization_id)
    .bind(&mailbox.id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop))?;
    // A concurrent enrolment may have won: its mailbox is the plan's.
    plan(store, organization_id).await
}

/// Makes the plan's CARIN expectations errors (`true`) or warnings.
pub async fn set_strict(store: &Store, organization_id: &str, strict: bool) -> Result<HealthPlan> {
    let changed = on_pool!(store, |pool| sqlx::query(
        "UPDATE health_plans SET strict = $2 WHERE organization_id = $1"
    )
    .bind(organization_id)
    .bind(strict)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(Error::NotFound);
    }
    plan(store, organization_id).await
}

/// Makes an `eob:publish` key for a health plan (enrolling it first).
pub async fn create_publisher_key(
    keys: &ApiKeys<'_>,
    organization_id: &str,
    label: &str,
    by: Actor,
) -> Result<(ApiKey, ApiKeySecret)> {
    let plan = enroll(keys.store, organization_id).await?;
    keys.create_scoped(
        &plan.organization_id,
        &plan.mailbox_id,
        Scope::PublishEobs,
        label,
        by,
    )
    .await
}
