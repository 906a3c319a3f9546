//! The server half of the admin functions.

use std::collections::HashMap;

use leptos::prelude::*;
use portico_core::{
    admin::{audit_log, integrations, staff},
    alerts::{self, AlertRules},
    api_keys::{ApiKeys, Scope},
    audit::{Action, ActorKind, AuditFilter, RecordedEvent, Seq},
    auth::staff::{StaffName, StaffRole},
    messages::MailboxKind,
    store::OrganizationKind,
    vault::{NormalizedEmail, Vault},
    Error,
};
use serde::Deserialize;

use super::{
    AlertLine, AlertsPage, AuditLine, AuditPage, BrandingView, KeyRow, MailboxRow, StaffRow,
    SystemsPage,
};
use crate::{
    auth::session::{client, failed, passwords, portal, staff_accounts},
    messaging::messaging_ssr::{staff_member, when},
};

/// As [`failed`], with words of its own for someone who is not an admin.
pub fn admin_failed(error: portico_core::Error) -> ServerFnError {
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

/// The audit search form as typed; empty fields filter nothing.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AuditForm {
    #[serde(default)]
    pub patient_email: String,
    #[serde(default)]
    pub staff_id: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub since: String,
    #[serde(default)]
    pub until: String,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A field as typed, or `None` when left empty.
fn some(field: &str) -> Option<&str> {
    Some(field.trim()).filter(|s| !s.is_empty())
}

/// A `YYYY-MM-DD` day's first millisecond (UTC).
fn day_start(field: &'static str, day: &str) -> Result<i64, Error> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(day.trim(), &format)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .map_err(|_| Error::Invalid {
            field,
            problem: "must be a date such as 2026-12-01".into(),
        })
}

impl AuditForm {
    /// The filter. An address the portal does not know matches nothing; an
    /// unknown action or a bad date names its field.
    pub async fn filter(&self, vault: &Vault) -> Result<AuditFilter, Error> {
        let patient_id = match some(&self.patient_email) {
            None => None,
            Some(email) => match vault.find_identity(&NormalizedEmail::parse(email)?).await? {
                Some(identity) => Some(identity.id),
                None => {
                    return Ok(AuditFilter {
                        until: Some(i64::MIN),
                        ..AuditFilter::default()
                    })
                }
            },
        };
        let action = match some(&self.action) {
            None => None,
            Some(name) => Some(Action::from_name(name).ok_or(Error::Invalid {
                field: "action",
                problem: "is not an action the log records".into(),
            })?),
        };
        Ok(AuditFilter {
            patient_id,
            staff_id: some(&self.staff_id).map(str::to_owned),
            action,
            since: some(&self.since)
                .map(|d| day_start("since", d))
                .transpose()?,
            // The last day is included.
            until: some(&self.until)
                .map(|d| day_start("until", d).map(|ms| ms + DAY_MS))
                .transpose()?,
        })
    }
}

pub async fn search_audit(
    form: &AuditForm,
    before: Option<i64>,
) -> Result<AuditPage, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let filter = form.filter(&p.vault).await.map_err(admin_failed)?;
    let (events, older) = audit_log::search(
        &p.store,
        &p.audit,
        &admin,
        &filter,
        before.map(Seq),
        &client().await,
    )
    .await
    .map_err(admin_failed)?;
    let names: HashMap<String, String> = staff::list(&p.store, &admin)
        .await
        .map_err(admin_failed)?
        .into_iter()
        .map(|s| (s.staff_id, s.name.unwrap_or_else(|| "(no name)".to_owned())))
        .collect();
    Ok(AuditPage {
        lines: events.into_iter().map(|e| audit_line(e, &names)).collect(),
        older: older.map(|s| s.0),
    })
}

fn audit_line(e: RecordedEvent, names: &HashMap<String, String>) -> AuditLine {
    let actor = &e.event.actor;
    let who = match actor.kind {
        ActorKind::Staff => match names.get(&actor.id) {
            Some(name) => format!("{name} (staff)"),
            None => format!("staff {}", actor.id),
        },
        ActorKind::Patient => format!("patient {}", actor.id),
        ActorKind::ApiKey => format!("API key {}", actor.id),
        ActorKind::System => format!("system: {}", actor.id),
    };
    AuditLine {
        seq: e.seq.0,
        when: when(e.event.occurred_at),
        who,
        action: e.event.action.as_str().to_owned(),
        outcome: e.event.outcome.as_str().to_owned(),
        subjects: e.event.subject_ids.join(" "),
        from: e
            .event
            .client_address
            .map(|a| a.to_string())
            .unwrap_or_default(),
    }
}

pub async fn alerts_page() -> Result<AlertsPage, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let raised = alerts::list(&p.store, &admin).await.map_err(admin_failed)?;
    let rules = alerts::rules(&p.store, &admin.organization_id)
        .await
        .map_err(failed)?;
    let text = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let (start, end) = rules.business_hours.unzip();
    Ok(AlertsPage {
        max_patients_per_hour: text(rules.max_patients_per_hour),
        business_hours_start: text(start.map(u32::from)),
        business_hours_end: text(end.map(u32::from)),
        time_zone: rules.time_zone.unwrap_or_default(),
        alerts: raised
            .into_iter()
            .map(|a| AlertLine {
                raised: when(a.raised_at),
                rule: match a.rule.as_str() {
                    "many_patients" => "Many patients in an hour".to_owned(),
                    "after_hours_download" => "Download outside business hours".to_owned(),
                    other => other.to_owned(),
                },
                who: a.staff_name.unwrap_or(a.staff_id),
                detail: a.detail,
            })
            .collect(),
    })
}

/// A whole number typed in `field`, or `None` when left empty.
fn number<T: std::str::FromStr>(field: &'static str, typed: &str) -> Result<Option<T>, Error> {
    some(typed)
        .map(|t| {
            t.parse().map_err(|_| Error::Invalid {
                field,
                problem: "must be a whole number, or empty to turn the rule off".into(),
            })
        })
        .transpose()
}

pub async fn set_alert_rules(
    max: &str,
    start: &str,
    end: &str,
    time_zone: &str,
) -> Result<(), ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let parsed = (|| {
        let max = number::<u32>("max_patients_per_hour", max)?;
        let start = number::<u8>("business_hours_start", start)?;
        let end = number::<u8>("business_hours_end", end)?;
        let business_hours = match (start, end) {
            (Some(s), Some(e)) => Some((s, e)),
            (None, None) => None,
            _ => {
                return Err(Error::Invalid {
                    field: "business_hours",
                    problem: "give both the start and the end, or neither".into(),
                })
            }
        };
        Ok(AlertRules {
            max_patients_per_hour: max,
            business_hours,
            time_zone: some(time_zone).map(str::to_owned),
        })
    })()
    .map_err(admin_failed)?;
    alerts::set_rules(&p.store, &p.audit, &admin, parsed, &client().await)
        .await
        .map_err(admin_failed)
}

fn keys(p: &crate::auth::session::Portal) -> ApiKeys<'_> {
    ApiKeys {
        store: &p.store,
        audit: &p.audit,
    }
}

pub async fn systems() -> Result<SystemsPage, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let boxes = integrations::mailboxes(&p.store, &admin)
        .await
        .map_err(admin_failed)?;
    let names: HashMap<&str, &str> = boxes
        .iter()
        .map(|m| (m.id.as_str(), m.display_name.as_str()))
        .collect();
    let keys = integrations::api_keys(&keys(&p), &admin)
        .await
        .map_err(admin_failed)?
        .into_iter()
        .map(|k| KeyRow {
            mailbox: names
                .get(k.mailbox_id.as_str())
                .copied()
                .unwrap_or("—")
                .to_owned(),
            created: when(k.created_at),
            last_used: k
                .last_used_at
                .map(when)
                .unwrap_or_else(|| "never".to_owned()),
            revoked: k.revoked_at.is_some(),
            publishes: k.scope == Scope::PublishEobs,
            label: k.label,
            id: k.id,
        })
        .collect();
    let organization = p
        .store
        .organizations()
        .get(&admin.organization_id)
        .await
        .map_err(admin_failed)?;
    Ok(SystemsPage {
        mailboxes: boxes
            .iter()
            .map(|m| MailboxRow {
                id: m.id.clone(),
                name: m.display_name.clone(),
                kind: m.kind.as_str().to_owned(),
            })
            .collect(),
        keys,
        health_plan: organization.kind == OrganizationKind::HealthPlan,
    })
}

pub async fn create_mailbox(name: &str, kind: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let kind = MailboxKind::parse(kind).ok_or_else(|| {
        admin_failed(Error::Invalid {
            field: "kind",
            problem: "must be clinical, billing or general".into(),
        })
    })?;
    integrations::create_mailbox(&p.store, &p.audit, &admin, name, kind, &client().await)
        .await
        .map(drop)
        .map_err(admin_failed)
}

pub async fn create_api_key(mailbox_id: &str, label: &str) -> Result<String, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let (_, secret) = integrations::create_api_key(&keys(&p), &admin, mailbox_id, label)
        .await
        .map_err(admin_failed)?;
    Ok(secret.as_str().to_owned())
}

pub async fn create_publisher_key(label: &str) -> Result<String, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    let (_, secret) = integrations::create_publisher_key(&keys(&p), &admin, label)
        .await
        .map_err(admin_failed)?;
    Ok(secret.as_str().to_owned())
}

pub async fn revoke_api_key(key_id: &str) -> Result<(), ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    integrations::revoke_api_key(&keys(&p), &admin, key_id)
        .await
        .map_err(admin_failed)
}

pub async fn branding() -> Result<BrandingView, ServerFnError> {
    let p = portal()?;
    let admin = staff_member(&p).await?;
    if admin.role != StaffRole::Admin {
        return Err(admin_failed(Error::Denied));
    }
    let b = portico_core::admin::branding::branding(&p.store, &admin.organization_id)
        .await
        .map_err(failed)?;
    Ok(BrandingView {
        organization_id: admin.organization_id,
        display_name: b.display_name,
        colour: b.colour.unwrap_or_default(),
        has_logo: b.has_logo,
    })
}
