//! Behavioural alerts: rules an organization's admins set, checked against
//! the audit log, raising an alert to those admins (on the alerts page, by an
//! email without health information, and in the audit log).
//!
//! Two rules, each off until set:
//! - **Many patients**: one staff account opened items of more than
//!   `max_patients_per_hour` different patients within the last hour. One alert
//!   per account per clock hour.
//! - **After-hours download**: a staff account downloaded a file or a
//!   statement outside business hours (in the organization's time zone, UTC
//!   unless set; start to end, end excluded). One
//!   alert per download.
//!
//! [`check`] runs every minute in each server process; instances may run it at
//! once: an alert is one row, unique by organization, rule, account and
//! occasion, and its email and audit event commit with that row, or not at all.

use std::collections::{HashMap, HashSet};

use jiff::tz::TimeZone;

use crate::{
    admin::require_admin,
    audit::{Action, Actor, AppendWithin, AuditEvent, AuditLog, Outcome},
    auth::Client,
    messages::StaffMember,
    notify::{AlertPayload, MailKind, Payload, ENQUEUE_SQL},
    store::{multi_row::BeginWrite, new_id, now_ms, on_pool, Store},
    vault::{KeyOwner, Vault},
    Error, Result,
};

const HOUR_MS: i64 = 3_600_000;
/// Opening these counts towards "many patients".
const OPENINGS: &str = "'thread_viewed', 'message_viewed', 'attachment_downloaded', \
                        'eob_viewed', 'eob_exported_pdf', 'eob_exported_fhir_json'";
/// These are downloads.
const DOWNLOADS: [Action; 3] = [
    Action::AttachmentDownloaded,
    Action::EobExportedPdf,
    Action::EobExportedFhirJson,
];

/// An organization's rules; `None` turns a rule off.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertRules {
    pub max_patients_per_hour: Option<u32>,
    /// Business hours: from the first hour (0–23) to the second (1–24), excluded.
    pub business_hours: Option<(u8, u8)>,
    /// The time zone of the business hours, as an IANA name such as
    /// `America/New_York`; `None` is UTC.
    pub time_zone: Option<String>,
}

impl AlertRules {
    fn check(&self) -> Result<()> {
        if self.max_patients_per_hour == Some(0) {
            return Err(invalid("max_patients_per_hour", "must be at least 1"));
        }
        if let Some((start, end)) = self.business_hours {
            if start > 23 || end > 24 || start >= end {
                return Err(invalid(
                    "business_hours",
                    "must start at an hour from 0 to 23 and end later, by 24",
                ));
            }
        }
        self.zone().map(drop)
    }

    /// The time zone of the business hours; refused if its name is unknown.
    fn zone(&self) -> Result<TimeZone> {
        match self.time_zone.as_deref() {
            None => Ok(TimeZone::UTC),
            Some(name) => TimeZone::get(name).map_err(|_| {
                invalid(
                    "time_zone",
                    "must be a time zone name such as America/New_York, or empty for UTC",
                )
            }),
        }
    }
}

fn invalid(field: &'static str, problem: &str) -> Error {
    Error::Invalid {
        field,
        problem: problem.into(),
    }
}

/// The rules of an organization (all off when never set).
pub async fn rules(store: &Store, organization_id: &str) -> Result<AlertRules> {
    let row: Option<RuleColumns> = on_pool!(store, |pool| {
        sqlx::query_as(
            "SELECT max_patients_per_hour, business_hours_start, business_hours_end, time_zone \
             FROM alert_rules WHERE organization_id = $1",
        )
        .bind(organization_id)
        .fetch_optional(pool)
        .await
    })?;
    Ok(row.map_or_else(AlertRules::default, rules_of))
}

/// max_patients_per_hour, business_hours_start, business_hours_end, time_zone.
type RuleColumns = (Option<i64>, Option<i64>, Option<i64>, Option<String>);

fn rules_of((max, start, end, time_zone): RuleColumns) -> AlertRules {
    AlertRules {
        max_patients_per_hour: max.and_then(|m| u32::try_from(m).ok()),
        business_hours: start
            .zip(end)
            .and_then(|(s, e)| Some((u8::try_from(s).ok()?, u8::try_from(e).ok()?))),
        time_zone,
    }
}

/// Sets the rules of `admin`'s organization.
pub async fn set_rules(
    store: &Store,
    audit: &AuditLog,
    admin: &StaffMember,
    rules: AlertRules,
    client: &Client,
) -> Result<()> {
    require_admin(admin)?;
    rules.check()?;
    let (start, end) = rules.business_hours.map_or((None, None), |(s, e)| {
        (Some(i64::from(s)), Some(i64::from(e)))
    });
    on_pool!(store, |pool| sqlx::query(
        "INSERT INTO alert_rules (organization_id, max_patients_per_hour, business_hours_start, \
         business_hours_end, time_zone) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (organization_id) DO UPDATE \
         SET max_patients_per_hour = excluded.max_patients_per_hour, \
         business_hours_start = excluded.business_hours_start, \
         business_hours_end = excluded.business_hours_end, time_zone = excluded.time_zone"
    )
    .bind(&admin.organization_id)
    .bind(rules.max_patients_per_hour.map(i64::from))
    .bind(start)
    .bind(end)
    .bind(rules.time_zone.as_deref())
    .execute(pool)
    .await
    .map(drop))?;
    let event = AuditEvent::new(
        Actor::staff(&admin.staff_id),
        Action::OrganizationChanged,
        Outcome::Success,
    )
    .about("setting:alert_rules".to_owned())
    .in_organization(admin.organization_id.clone());
    audit.record(client.stamp(event)).await.map(drop)
}

/// One raised alert, as the alerts page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// `many_patients` or `after_hours_download`.
    pub rule: String,
    pub staff_id: String,
    pub staff_name: Option<String>,
    /// Counts and times only.
    pub detail: String,
    pub raised_at: i64,
}

/// The newest 200 alerts of `admin`'s organization.
pub async fn list(store: &Store, admin: &StaffMember) -> Result<Vec<Alert>> {
    require_admin(admin)?;
    type Row = (String, String, Option<String>, String, i64);
    let rows: Vec<Row> = on_pool!(store, |pool| sqlx::query_as(
        "SELECT a.rule, a.staff_id, s.display_name, a.detail, a.raised_at FROM alerts a \
         LEFT JOIN staff_accounts s ON s.id = a.staff_id \
         WHERE a.organization_id = $1 ORDER BY a.raised_at DESC LIMIT 200"
    )
    .bind(&admin.organization_id)
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(rule, staff_id, staff_name, detail, raised_at)| Alert {
            rule,
            staff_id,
            staff_name,
            detail,
            raised_at,
        })
        .collect())
}

/// Checks every organization's rules against the hour before `now`; returns
/// how many alerts were raised.
pub async fn check(store: &Store, vault: &Vault, now: i64) -> Result<u32> {
    type RuleRow = (
        String,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let orgs: Vec<RuleRow> = on_pool!(store, |pool| {
        sqlx::query_as(
            "SELECT organization_id, max_patients_per_hour, business_hours_start, \
             business_hours_end, time_zone FROM alert_rules",
        )
        .fetch_all(pool)
        .await
    })?;
    let mut raised = 0;
    for (org, max, start, end, time_zone) in orgs {
        let rules = rules_of((max, start, end, time_zone));
        if rules == AlertRules::default() {
            continue;
        }
        let sql = format!(
            "SELECT seq, occurred_at, actor_id, action, subject_ids FROM audit_events \
             WHERE organization_id = $1 AND actor_kind = 'staff' AND outcome = 'success' \
             AND occurred_at >= $2 AND occurred_at < $3 AND action IN ({OPENINGS})"
        );
        let events: Vec<(i64, i64, String, String, String)> = on_pool!(store, |pool| {
            sqlx::query_as(&sql)
                .bind(&org)
                .bind(now - HOUR_MS)
                .bind(now)
                .fetch_all(pool)
                .await
        })?;
        let mut found = Vec::new();
        if let Some(max) = rules.max_patients_per_hour {
            found.extend(many_patients(store, &events, max, now).await?);
        }
        if let Some(hours) = rules.business_hours {
            // A name the database no longer knows (set with another build) is UTC.
            let zone = rules.zone().unwrap_or(TimeZone::UTC);
            let zone_name = rules.time_zone.as_deref().unwrap_or("UTC");
            found.extend(after_hours(&events, hours, (&zone, zone_name)));
        }
        for found in found {
            raised += u32::from(raise(store, vault, &org, found, now).await?);
        }
    }
    Ok(raised)
}

/// An alert about to be raised.
struct Found {
    rule: &'static str,
    staff_id: String,
    occasion: i64,
    detail: String,
}

async fn many_patients(
    store: &Store,
    events: &[(i64, i64, String, String, String)],
    max: u32,
    now: i64,
) -> Result<Vec<Found>> {
    // The patients among the ids the events name (staff views name the patient).
    let ids: HashSet<&str> = events
        .iter()
        .flat_map(|e| e.4.split(' ').filter(|s| !s.is_empty()))
        .collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut patients: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(500) {
        let list = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT id FROM identities WHERE id IN ({list})");
        let found: Vec<String> = on_pool!(store, |pool| {
            let mut query = sqlx::query_scalar(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await
        })?;
        patients.extend(found);
    }
    let mut per_staff: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (_, _, staff, _, subjects) in events {
        for id in subjects.split(' ').filter(|id| patients.contains(*id)) {
            per_staff.entry(staff).or_default().insert(id);
        }
    }
    Ok(per_staff
        .into_iter()
        .filter(|(_, seen)| seen.len() > max as usize)
        .map(|(staff, seen)| Found {
            rule: "many_patients",
            staff_id: staff.to_owned(),
            occasion: now / HOUR_MS,
            detail: format!(
                "items of {} patients opened in the hour before {} (the rule allows {max})",
                seen.len(),
                utc_time(now)
            ),
        })
        .collect())
}

/// The downloads outside business hours `start` to `end` in `zone` (and its name).
fn after_hours(
    events: &[(i64, i64, String, String, String)],
    (start, end): (u8, u8),
    (zone, zone_name): (&TimeZone, &str),
) -> Vec<Found> {
    let local = |at: i64| {
        jiff::Timestamp::from_millisecond(at)
            .ok()
            .map(|t| t.to_zoned(zone.clone()))
    };
    events
        .iter()
        .filter(|(_, _, _, action, _)| {
            Action::from_name(action).is_some_and(|a| DOWNLOADS.contains(&a))
        })
        .filter_map(|(seq, at, staff, _, _)| {
            let when = local(*at)?;
            let hour = when.hour();
            (hour < i8::try_from(start).ok()? || hour >= i8::try_from(end).ok()?).then(|| Found {
                rule: "after_hours_download",
                staff_id: staff.clone(),
                occasion: *seq,
                detail: format!(
                    "a download at {} {zone_name}, outside business hours {start:02}:00 to {end:02}:00",
                    when.strftime("%Y-%m-%d %H:%M")
                ),
            })
        })
        .collect()
}

/// "2026-12-01 09:30 UTC"
fn utc_time(ms: i64) -> String {
    let secs = u64::try_from(ms / 1000).unwrap_or(0);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let text = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// Records the alert, queues an email to each active admin and appends the
/// audit event, in one transaction; false when it was raised before.
async fn raise(store: &Store, vault: &Vault, org: &str, found: Found, now: i64) -> Result<bool> {
    let admins: Vec<String> = on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT identity_id FROM staff_accounts WHERE organization_id = $1 \
         AND role = 'admin' AND disabled_at IS NULL"
    )
    .bind(org)
    .fetch_all(pool)
    .await)?;
    let organization = store.organizations().get(org).await?.display_name;
    let payload = AlertPayload { organization }.to_bytes();
    let mut notices = Vec::with_capacity(admins.len());
    for identity in admins {
        let sealed = vault
            .seal(&payload, &[KeyOwner::Identity(identity.clone())])
            .await?;
        notices.push((identity, sealed));
    }
    let event = AuditEvent::new(
        Actor::system("alerts"),
        Action::AlertRaised,
        Outcome::Success,
    )
    .about(found.staff_id.clone())
    .about(format!("rule:{}", found.rule))
    .in_organization(org.to_owned());
    let inserted = on_pool!(store, |pool| {
        let mut tx = pool.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO alerts (id, organization_id, rule, staff_id, occasion, detail, raised_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (organization_id, rule, staff_id, occasion) DO NOTHING",
        )
        .bind(new_id())
        .bind(org)
        .bind(found.rule)
        .bind(&found.staff_id)
        .bind(found.occasion)
        .bind(&found.detail)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            for (identity, sealed) in &notices {
                sqlx::query(ENQUEUE_SQL)
                    .bind(new_id())
                    .bind(MailKind::SecurityAlert.as_str())
                    .bind(identity)
                    .bind(org)
                    .bind(sealed)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.append_audit(std::slice::from_ref(&event)).await?;
        }
        tx.commit().await?;
        Ok::<_, Error>(inserted)
    })?;
    Ok(inserted)
}
