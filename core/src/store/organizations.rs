//! Organizations: the providers and health plans that write to patients.

use super::{new_id, now_ms, on_pool, Store};
use crate::{Error, Result};

/// What an organization is, which decides what it may publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganizationKind {
    /// A provider: writes messages from its mailboxes.
    Provider,
    /// A health plan: publishes Explanation of Benefits statements.
    HealthPlan,
}

impl OrganizationKind {
    fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::Provider => "provider",
            OrganizationKind::HealthPlan => "health_plan",
        }
    }
}

impl TryFrom<String> for OrganizationKind {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "provider" => Ok(OrganizationKind::Provider),
            "health_plan" => Ok(OrganizationKind::HealthPlan),
            other => Err(format!("unknown organization kind {other:?}")),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Organization {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub kind: OrganizationKind,
    /// The name patients see, such as "Riverside Clinic". Not health information.
    pub display_name: String,
    pub created_at: i64,
}

/// The organizations table.
pub struct Organizations<'a>(pub(super) &'a Store);

impl Organizations<'_> {
    /// How many organizations there are.
    pub async fn count(&self) -> Result<i64> {
        Ok(on_pool!(self.0, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM organizations"
        )
        .fetch_one(pool)
        .await)?)
    }

    pub async fn create(&self, kind: OrganizationKind, display_name: &str) -> Result<Organization> {
        let display_name = display_name.trim();
        if display_name.is_empty() || display_name.chars().count() > 200 {
            return Err(Error::Invalid {
                field: "display_name",
                problem: "must be 1 to 200 characters".into(),
            });
        }
        let org = Organization {
            id: new_id(),
            kind,
            display_name: display_name.to_owned(),
            created_at: now_ms(),
        };
        on_pool!(self.0, |pool| {
            sqlx::query(
            "INSERT INTO organizations (id, kind, display_name, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(&org.id)
        .bind(org.kind.as_str())
        .bind(&org.display_name)
        .bind(org.created_at)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(org)
    }

    pub async fn get(&self, id: &str) -> Result<Organization> {
        on_pool!(self.0, |pool| sqlx::query_as::<_, Organization>(
            "SELECT id, kind, display_name, created_at FROM organizations WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?
        .ok_or(Error::NotFound)
    }
}
