//! What the message tests share: a clinic with mailboxes and staff.
#![allow(dead_code)]

use portico_core::{
    auth::{staff::StaffRole, Client},
    messages::{self, AttachmentLimits, MailboxKind, Messaging, StaffMember},
    store::{now_ms, OrganizationKind},
    testing::{exec, TestPortal},
    vault::NormalizedEmail,
};

/// A clinic with a clinical and a billing mailbox, one staff member of each
/// role, and a clinician at another clinic.
pub struct Env {
    pub portal: TestPortal,
    pub clinic: String,
    pub cardiology: String,
    pub billing: String,
    pub clinician: StaffMember,
    pub clerk: StaffMember,
    pub front_desk: StaffMember,
    pub elsewhere: StaffMember,
    pub limits: AttachmentLimits,
}

pub fn member(org: &str, role: StaffRole, n: u8) -> StaffMember {
    StaffMember {
        staff_id: format!("0190f3c4-0000-7000-8000-{n:012}"),
        organization_id: org.to_owned(),
        role,
    }
}

impl Env {
    async fn new(portal: TestPortal) -> Self {
        let orgs = portal.store.organizations();
        let clinic = orgs
            .create(OrganizationKind::Provider, "Riverside Clinic")
            .await
            .unwrap()
            .id;
        let other = orgs
            .create(OrganizationKind::Provider, "Hillside Clinic")
            .await
            .unwrap()
            .id;
        let cardiology =
            messages::create_mailbox(&portal.store, &clinic, "Cardiology", MailboxKind::Clinical)
                .await
                .unwrap()
                .id;
        let billing =
            messages::create_mailbox(&portal.store, &clinic, "Billing", MailboxKind::Billing)
                .await
                .unwrap()
                .id;
        Self {
            clinician: member(&clinic, StaffRole::Clinician, 1),
            clerk: member(&clinic, StaffRole::Billing, 2),
            front_desk: member(&clinic, StaffRole::Staff, 3),
            elsewhere: member(&other, StaffRole::Clinician, 4),
            portal,
            clinic,
            cardiology,
            billing,
            limits: AttachmentLimits::default(),
        }
    }

    pub fn messaging(&self) -> Messaging<'_> {
        Messaging {
            store: &self.portal.store,
            vault: &self.portal.vault,
            audit: &self.portal.audit,
            link_lifetime: std::time::Duration::from_secs(30 * 24 * 3600),
            attachment_limits: self.limits,
        }
    }

    pub async fn patient(&self, email: &str) -> String {
        let email = NormalizedEmail::parse(email).unwrap();
        self.portal
            .vault
            .identity_for_email(&email)
            .await
            .unwrap()
            .id
    }
}

pub async fn env_for(portal: TestPortal) -> Env {
    Env::new(portal).await
}

pub fn client() -> Client {
    Client::default()
}

pub fn ana() -> NormalizedEmail {
    NormalizedEmail::parse("ana@example.org").unwrap()
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Gives `member` a staff account row, named or (as accounts made before
/// names were kept) not.
pub async fn account(env: &Env, member: &StaffMember, email: &str, name: Option<&str>) {
    let identity = env.patient(email).await;
    let role = member.role.as_str();
    let now = now_ms().to_string();
    let sql = match name {
        Some(_) => {
            "INSERT INTO staff_accounts (id, organization_id, identity_id, role, created_at, display_name) \
             VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT), $6)"
        }
        None => {
            "INSERT INTO staff_accounts (id, organization_id, identity_id, role, created_at) \
             VALUES ($1, $2, $3, $4, CAST($5 AS BIGINT))"
        }
    };
    let mut binds = vec![
        member.staff_id.as_str(),
        member.organization_id.as_str(),
        identity.as_str(),
        role,
        now.as_str(),
    ];
    binds.extend(name);
    assert_eq!(exec(&env.portal.store, sql, &binds).await, 1);
}

/// The cardiology clinician starts a thread to Ana: (thread id, message id).
pub async fn cardiology_writes_to_ana(env: &Env, subject: &str, body: &str) -> (String, String) {
    env.messaging()
        .start_thread(
            &env.clinician,
            &env.cardiology,
            &ana(),
            subject,
            body,
            None,
            &client(),
        )
        .await
        .unwrap()
}
