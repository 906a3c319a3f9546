//! The member directory: a health plan maps its member ids (a Patient's
//! identifier value) to email addresses, for members whose Patient resource
//! carries no email. Member ids are kept only as keyed digests, scoped to the
//! plan; the address becomes (or finds) the member's identity.

use std::collections::HashMap;

use hmac::Mac;

use super::plans::HealthPlan;
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    store::{now_ms, on_pool},
    vault::{NormalizedEmail, Vault},
    Error, Result,
};

/// The longest member id, in characters.
pub const MEMBER_ID_MAX_CHARS: usize = 64;

/// The keyed digest a member id is stored and looked up by.
pub fn member_digest(vault: &Vault, organization_id: &str, member_id: &str) -> [u8; 32] {
    vault
        .keyed_mac(
            "plan-member",
            &[organization_id.as_bytes(), member_id.trim().as_bytes()],
        )
        .finalize()
        .into_bytes()
        .into()
}

fn check_member_id(member_id: &str) -> Result<&str> {
    let id = member_id.trim();
    if id.is_empty() || id.chars().count() > MEMBER_ID_MAX_CHARS || id.chars().any(char::is_control)
    {
        return Err(Error::Invalid {
            field: "member_id",
            problem: format!("must be 1 to {MEMBER_ID_MAX_CHARS} characters, on one line"),
        });
    }
    Ok(id)
}

/// Maps `member_id` to `email` for `plan` (replacing an earlier mapping);
/// audited as the key's act, naming the identity, never the id or address.
pub async fn set_member(
    vault: &Vault,
    audit: &AuditLog,
    plan: &HealthPlan,
    member_id: &str,
    email: &str,
    by: Actor,
) -> Result<()> {
    let member_id = check_member_id(member_id)?;
    let email = NormalizedEmail::parse(email)?;
    let identity = vault.identity_for_email(&email).await?;
    let digest = member_digest(vault, &plan.organization_id, member_id);
    on_pool!(vault.store(), |pool| sqlx::query(
        "INSERT INTO plan_members (organization_id, member_digest, identity_id, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (organization_id, member_digest) \
         DO UPDATE SET identity_id = excluded.identity_id, updated_at = excluded.updated_at"
    )
    .bind(&plan.organization_id)
    .bind(digest.as_slice())
    .bind(&identity.id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(drop))?;
    let event = AuditEvent::new(by, Action::MemberDirectoryUpdated, Outcome::Success)
        .about(identity.id)
        .in_organization(plan.organization_id.clone());
    audit.record(event).await?;
    Ok(())
}

/// Finds recipients by member id for one plan, remembering answers (found or
/// not) for the length of one upload.
pub struct MemberLookup<'a> {
    vault: &'a Vault,
    organization_id: &'a str,
    known: HashMap<[u8; 32], Option<String>>,
}

impl<'a> MemberLookup<'a> {
    pub fn new(vault: &'a Vault, organization_id: &'a str) -> Self {
        Self {
            vault,
            organization_id,
            known: HashMap::new(),
        }
    }

    /// The identity of the first of `member_ids` in the directory.
    pub async fn identity_of(&mut self, member_ids: &[String]) -> Result<Option<String>> {
        for id in member_ids {
            if check_member_id(id).is_err() {
                continue;
            }
            let digest = member_digest(self.vault, self.organization_id, id);
            if let Some(found) = self.known.get(&digest) {
                if found.is_some() {
                    return Ok(found.clone());
                }
                continue;
            }
            let found: Option<String> = on_pool!(self.vault.store(), |pool| sqlx::query_scalar(
                "SELECT identity_id FROM plan_members \
                 WHERE organization_id = $1 AND member_digest = $2"
            )
            .bind(self.organization_id)
            .bind(digest.as_slice())
            .fetch_optional(pool)
            .await)?;
            self.known.insert(digest, found.clone());
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}
