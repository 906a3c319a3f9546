//! Staff accounts: created by an operator (`portico staff add`) with a one-time
//! enrollment link, where the person sets a password (and, with the sign-in
//! pages, adds a passkey). Password sign-in is throttled after 5 failures in 15
//! minutes, for a while rather than for ever, and the owner is told of the
//! failures at their next successful sign-in.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{
    links::{self, LinkToken},
    passwords::{PasswordCheck, Passwords},
    Client,
};
use crate::{
    audit::{Action, Actor, AuditEvent, AuditLog, Outcome},
    store::{new_id, now_ms, on_pool, Store},
    vault::{NormalizedEmail, Vault},
    Error, Result,
};

/// How long an enrollment link works.
pub const ENROLLMENT_LIFETIME: Duration = Duration::from_secs(72 * 3600);
/// Password length rules (NIST 800-63B: long passphrases welcome, no composition rules).
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// What a staff member may do in their organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffRole {
    /// Manages staff, mailboxes, API keys, branding; reviews the audit log.
    Admin,
    /// Writes to patients and answers their replies.
    Clinician,
    /// Reads and answers the department mailbox.
    Staff,
    /// Handles bills and payments; never reads clinical mailboxes.
    Billing,
}

impl StaffRole {
    pub const fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "admin",
            StaffRole::Clinician => "clinician",
            StaffRole::Staff => "staff",
            StaffRole::Billing => "billing",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "admin" => Ok(StaffRole::Admin),
            "clinician" => Ok(StaffRole::Clinician),
            "staff" => Ok(StaffRole::Staff),
            "billing" => Ok(StaffRole::Billing),
            _ => Err(Error::Invalid {
                field: "role",
                problem: "must be admin, clinician, staff or billing".into(),
            }),
        }
    }
}

/// The name a staff member is known by to patients, as their access history
/// shows it: 1 to [`STAFF_NAME_MAX_CHARS`] characters, no control characters,
/// spaces trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffName(String);

pub const STAFF_NAME_MAX_CHARS: usize = 100;

impl StaffName {
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim();
        let problem = if name.is_empty() {
            Some("must not be empty".to_owned())
        } else if name.chars().count() > STAFF_NAME_MAX_CHARS {
            Some(format!("must be at most {STAFF_NAME_MAX_CHARS} characters"))
        } else if name.chars().any(char::is_control) {
            Some("must not contain control characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::Invalid {
                field: "name",
                problem,
            }),
            None => Ok(Self(name.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Failures that throttle password sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// What a password sign-in found. Unknown addresses, disabled accounts and wrong
/// passwords all give `Refused`, so the answer never says which.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordSignIn {
    /// The password is right: the passkey step comes next.
    Accepted {
        staff_id: String,
        organization_id: String,
        role: StaffRole,
        /// Failed attempts since the last success, to tell the owner.
        failures_since_last: u32,
    },
    Refused,
    /// Too many failures lately: try again later (the password was not checked).
    Throttled,
}

/// A dummy hash checked for unknown addresses, so they take as long as known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3cbOC5FwDxoWAmYuzD7BZdX4XMdEPd7iy/ESEKG4lTc";

/// Staff accounts on one store.
pub struct StaffAccounts<'a> {
    pub store: &'a Store,
    pub vault: &'a Vault,
    pub audit: &'a AuditLog,
    pub passwords: &'a Passwords,
    pub throttle: Throttle,
}

fn refused_event(actor: Actor, reason: &str) -> AuditEvent {
    AuditEvent::new(actor, Action::SignInFailed, Outcome::Failure).about(format!("reason:{reason}"))
}

impl StaffAccounts<'_> {
    /// Adds a staff member and returns their id and enrollment link token.
    pub async fn add(
        &self,
        organization_id: &str,
        email: &NormalizedEmail,
        name: &StaffName,
        role: StaffRole,
        by: Actor,
    ) -> Result<(String, LinkToken)> {
        self.store.organizations().get(organization_id).await?;
        let identity = self.vault.identity_for_email(email).await?;
        let id = new_id();
        let now = now_ms();
        let (token, hash) = links::new_token();
        let expires = now + i64::try_from(ENROLLMENT_LIFETIME.as_millis()).unwrap_or(i64::MAX);
        let added = on_pool!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO staff_accounts \
                 (id, organization_id, identity_id, role, created_at, display_name) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (identity_id) DO NOTHING",
            )
            .bind(&id)
            .bind(organization_id)
            .bind(&identity.id)
            .bind(role.as_str())
            .bind(now)
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                sqlx::query(
                    "INSERT INTO staff_enrollments (token_hash, staff_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(hash.as_slice())
                .bind(&id)
                .bind(now)
                .bind(expires)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(inserted == 1)
        })?;
        if !added {
            return Err(Error::Invalid {
                field: "email",
                problem: "that address already has a staff account".into(),
            });
        }
        let event = AuditEvent::new(by, Action::StaffInvited, Outcome::Success)
            .about(id.clone())
            .in_organization(organization_id);
        self.audit.record(event).await?;
        Ok((id, token))
    }

    /// Sets the password of the account an unused, unexpired enrollment link
    /// names, and spends the link. Returns the staff id.
    pub async fn enroll(&self, token: &str, password: SecretString) -> Result<String> {
        let chars = password.expose_secret().chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars) {
            return Err(Error::Invalid {
                field: "password",
                problem: format!(
                    "must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters; a few words make a good one"
                ),
            });
        }
        let dead = || Error::Invalid {
            field: "token",
            problem:
                "this enrollment link is used, expired or unknown; ask your admin for a new one"
                    .into(),
        };
        let hash = links::parse(token)
            .map(|raw| links::token_hash(&raw))
            .ok_or_else(dead)?;
        let phc = self.passwords.hash(password).await?;
        let now = now_ms();
        let staff_id: Option<String> = on_pool!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            let staff: Option<String> = sqlx::query_scalar(
                "UPDATE staff_enrollments SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING staff_id",
            )
            .bind(hash.as_slice())
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(staff) = &staff {
                sqlx::query("UPDATE staff_accounts SET password_hash = $2 WHERE id = $1")
                    .bind(staff)
                    .bind(&phc)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(staff)
        })?;
        staff_id.ok_or_else(dead)
    }

    /// The password step of staff sign-in.
    pub async fn sign_in_with_password(
        &self,
        email: &NormalizedEmail,
        password: SecretString,
        client: &Client,
    ) -> Result<PasswordSignIn> {
        let account: Option<(String, String, String, Option<String>)> =
            match self.vault.find_identity(email).await? {
                None => None,
                Some(identity) => on_pool!(self.store, |pool| sqlx::query_as(
                    "SELECT id, organization_id, role, password_hash FROM staff_accounts \
                     WHERE identity_id = $1 AND disabled_at IS NULL"
                )
                .bind(&identity.id)
                .fetch_optional(pool)
                .await)?,
            };
        let Some((staff_id, organization_id, role, Some(stored))) = account else {
            // Spend the same time as a real check, then refuse.
            self.passwords.verify(password, DUMMY_HASH).await?;
            let event = refused_event(Actor::system("public"), "unknown_account");
            self.audit.record(client.stamp(event)).await?;
            return Ok(PasswordSignIn::Refused);
        };
        let actor = Actor::staff(&staff_id);
        let now = now_ms();
        let since = now - i64::try_from(self.throttle.window.as_millis()).unwrap_or(i64::MAX);
        let recent: i64 = on_pool!(self.store, |pool| {
            sqlx::query_scalar(
            "SELECT COUNT(*) FROM staff_sign_in_failures WHERE staff_id = $1 AND failed_at > $2"
        )
        .bind(&staff_id)
        .bind(since)
        .fetch_one(pool)
        .await
        })?;
        if recent >= i64::from(self.throttle.max_failures) {
            let event = refused_event(actor, "throttled").in_organization(&organization_id);
            self.audit.record(client.stamp(event)).await?;
            return Ok(PasswordSignIn::Throttled);
        }
        match self.passwords.verify(password, &stored).await? {
            PasswordCheck::Wrong => {
                on_pool!(self.store, |pool| sqlx::query(
                    "INSERT INTO staff_sign_in_failures (staff_id, failed_at) VALUES ($1, $2)"
                )
                .bind(&staff_id)
                .bind(now)
                .execute(pool)
                .await
                .map(drop))?;
                let event =
                    refused_event(actor, "wrong_password").in_organization(&organization_id);
                self.audit.record(client.stamp(event)).await?;
                Ok(PasswordSignIn::Refused)
            }
            PasswordCheck::Right { rehashed } => {
                if let Some(phc) = &rehashed {
                    on_pool!(self.store, |pool| sqlx::query(
                        "UPDATE staff_accounts SET password_hash = $2 WHERE id = $1"
                    )
                    .bind(&staff_id)
                    .bind(phc)
                    .execute(pool)
                    .await
                    .map(drop))?;
                }
                let failures = take_unreported_failures(self.store, &staff_id).await?;
                Ok(PasswordSignIn::Accepted {
                    staff_id,
                    organization_id,
                    role: StaffRole::parse(&role)?,
                    failures_since_last: failures,
                })
            }
        }
    }
}

/// A staff member as their pages show them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffProfile {
    pub staff_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub role: StaffRole,
    pub disabled: bool,
}

/// The staff member with this id.
pub async fn profile(store: &Store, staff_id: &str) -> Result<StaffProfile> {
    let row: Option<(String, String, String, Option<i64>)> = on_pool!(store, |pool| {
        sqlx::query_as(
        "SELECT s.organization_id, o.display_name, s.role, s.disabled_at FROM staff_accounts s \
         JOIN organizations o ON o.id = s.organization_id WHERE s.id = $1"
    )
    .bind(staff_id)
    .fetch_optional(pool)
    .await
    })?;
    let (organization_id, organization_name, role, disabled_at) = row.ok_or(Error::NotFound)?;
    Ok(StaffProfile {
        staff_id: staff_id.to_owned(),
        organization_id,
        organization_name,
        role: StaffRole::parse(&role)?,
        disabled: disabled_at.is_some(),
    })
}

/// True when `token` is an enrollment link that still works (nothing is spent).
pub async fn enrollment_open(store: &Store, token: &str) -> Result<bool> {
    let Some(raw) = links::parse(token) else {
        return Ok(false);
    };
    let n: i64 = on_pool!(store, |pool| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff_enrollments WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
    )
    .bind(links::token_hash(&raw).as_slice())
    .bind(now_ms())
    .fetch_one(pool)
    .await
    })?;
    Ok(n > 0)
}

/// Failed password attempts not yet reported to the owner; marks them reported.
pub async fn take_unreported_failures(store: &Store, staff_id: &str) -> Result<u32> {
    let n = on_pool!(store, |pool| {
        sqlx::query(
        "UPDATE staff_sign_in_failures SET reported_at = $2 WHERE staff_id = $1 AND reported_at IS NULL"
    )
    .bind(staff_id)
    .bind(now_ms())
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}
