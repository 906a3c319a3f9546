//! Staff accounts: enrollment links, password sign-in, throttling, and telling
//! the owner about failures; on SQLite and PostgreSQL.

use std::time::Duration;

use argon2::Params;
use portico_core::{
    admin,
    audit::{self, Action, Actor, Outcome, Page},
    auth::{
        passwords::Passwords,
        sessions::{SessionRecord, SessionRecords},
        staff,
        staff::{PasswordSignIn, StaffAccounts, StaffName, StaffRole, Throttle},
        Client,
    },
    messages::StaffMember,
    on_both_backends,
    store::{now_ms, OrganizationKind},
    testing::TestPortal,
    vault::NormalizedEmail,
    Error,
};
use secrecy::SecretString;

/// A test portal with light password parameters: these tests are about the
/// rules, not the cost.
struct Env {
    portal: TestPortal,
    passwords: Passwords,
}

impl From<TestPortal> for Env {
    fn from(portal: TestPortal) -> Self {
        Self {
            portal,
            passwords: Passwords::with(Params::new(1024, 1, 1, None).unwrap(), 2, 8),
        }
    }
}

impl std::ops::Deref for Env {
    type Target = TestPortal;
    fn deref(&self) -> &TestPortal {
        &self.portal
    }
}

impl Env {
    fn staff(&self, throttle: Throttle) -> StaffAccounts<'_> {
        StaffAccounts {
            store: &self.store,
            vault: &self.vault,
            audit: &self.audit,
            passwords: &self.passwords,
            throttle,
        }
    }
}

fn joy() -> StaffName {
    StaffName::parse("Nurse Joy").unwrap()
}

#[test]
fn a_staff_name_is_trimmed_and_refused_when_empty_long_or_controlled() {
    assert_eq!(
        StaffName::parse("  Dr. Ana Ruiz ").unwrap().as_str(),
        "Dr. Ana Ruiz"
    );
    for bad in ["", "   ", "Ana\nRuiz", "Ana\u{7}", &"x".repeat(101)] {
        assert!(
            matches!(
                StaffName::parse(bad),
                Err(Error::Invalid { field: "name", .. })
            ),
            "{bad:?} was accepted"
        );
    }
    assert!(
        StaffName::parse(&"é".repeat(100)).is_ok(),
        "100 characters, not bytes"
    );
}

on_both_backends!(
    an_enrollment_link_sets_the_password_once,
    five_failures_throttle_and_the_owner_is_told,
    an_admin_invites_changes_roles_and_disables_within_their_organization,
);

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

const PASSWORD: &str = "staple horse battery correct";

async fn an_enrollment_link_sets_the_password_once(env: Env) {
    let org = env
        .store
        .organizations()
        .create(OrganizationKind::Provider, "Riverside Clinic")
        .await
        .unwrap();
    let staff = env.staff(Throttle::default());
    let email = NormalizedEmail::parse("Nurse.Joy@Riverside.example").unwrap();
    let (staff_id, token) = staff
        .add(
            &org.id,
            &email,
            &joy(),
            StaffRole::Clinician,
            Actor::system("cli"),
        )
        .await
        .unwrap();
    let again = staff
        .add(
            &org.id,
            &email,
            &joy(),
            StaffRole::Admin,
            Actor::system("cli"),
        )
        .await;
    assert!(matches!(again, Err(Error::Invalid { field: "email", .. })));

    // Before enrolling there is no password to match.
    assert_eq!(
        staff
            .sign_in_with_password(&email, secret(PASSWORD), &Client::default())
            .await
            .unwrap(),
        PasswordSignIn::Refused
    );
    let short = staff
        .enroll(token.as_str(), secret("short"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            short,
            Error::Invalid {
                field: "password",
                ..
            }
        ),
        "{short}"
    );
    assert_eq!(
        staff
            .enroll(token.as_str(), secret(PASSWORD))
            .await
            .unwrap(),
        staff_id
    );
    let reused = staff
        .enroll(token.as_str(), secret("another long passphrase"))
        .await;
    assert!(matches!(reused, Err(Error::Invalid { field: "token", .. })));

    let signed_in = staff
        .sign_in_with_password(&email, secret(PASSWORD), &Client::default())
        .await
        .unwrap();
    assert_eq!(
        signed_in,
        PasswordSignIn::Accepted {
            staff_id: staff_id.clone(),
            organization_id: org.id.clone(),
            role: StaffRole::Clinician,
            failures_since_last: 0,
        }
    );
    // Unknown addresses are refused like wrong passwords.
    let nobody = NormalizedEmail::parse("nobody@riverside.example").unwrap();
    assert_eq!(
        staff
            .sign_in_with_password(&nobody, secret(PASSWORD), &Client::default())
            .await
            .unwrap(),
        PasswordSignIn::Refused
    );
    let invited = audit::events_about(&env.store, &staff_id, Page::newest(10))
        .await
        .unwrap();
    assert!(invited
        .iter()
        .any(|e| e.event.action == Action::StaffInvited));
}

async fn five_failures_throttle_and_the_owner_is_told(env: Env) {
    let org = env
        .store
        .organizations()
        .create(OrganizationKind::HealthPlan, "Acme Health")
        .await
        .unwrap();
    let email = NormalizedEmail::parse("claims@acme.example").unwrap();
    let staff = env.staff(Throttle::default());
    let (staff_id, token) = staff
        .add(
            &org.id,
            &email,
            &joy(),
            StaffRole::Admin,
            Actor::system("cli"),
        )
        .await
        .unwrap();
    staff
        .enroll(token.as_str(), secret(PASSWORD))
        .await
        .unwrap();
    let client = Client::default();

    for _ in 0..3 {
        assert_eq!(
            staff
                .sign_in_with_password(&email, secret("guess guess guess"), &client)
                .await
                .unwrap(),
            PasswordSignIn::Refused
        );
    }
    let PasswordSignIn::Accepted {
        failures_since_last,
        ..
    } = staff
        .sign_in_with_password(&email, secret(PASSWORD), &client)
        .await
        .unwrap()
    else {
        panic!("the right password is accepted")
    };
    assert_eq!(
        failures_since_last, 3,
        "the owner is told of the 3 failures"
    );
    let PasswordSignIn::Accepted {
        failures_since_last,
        ..
    } = staff
        .sign_in_with_password(&email, secret(PASSWORD), &client)
        .await
        .unwrap()
    else {
        panic!("accepted again")
    };
    assert_eq!(failures_since_last, 0, "told once");

    // Two more make five in the window: now even the right password is turned away.
    for _ in 0..2 {
        staff
            .sign_in_with_password(&email, secret("guess guess guess"), &client)
            .await
            .unwrap();
    }
    assert_eq!(
        staff
            .sign_in_with_password(&email, secret(PASSWORD), &client)
            .await
            .unwrap(),
        PasswordSignIn::Throttled
    );
    // Not for ever: once the failures fall out of the window, it works again.
    let later = env.staff(Throttle {
        window: Duration::ZERO,
        ..Throttle::default()
    });
    assert!(matches!(
        later
            .sign_in_with_password(&email, secret(PASSWORD), &client)
            .await
            .unwrap(),
        PasswordSignIn::Accepted {
            failures_since_last: 2,
            ..
        }
    ));
    let reasons: Vec<String> =
        audit::events_by(&env.store, &Actor::staff(&staff_id), Page::newest(50))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event.action == Action::SignInFailed)
            .inspect(|e| assert_eq!(e.event.outcome, Outcome::Failure))
            .flat_map(|e| e.event.subject_ids)
            .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| *r == "reason:wrong_password")
            .count(),
        5
    );
    assert_eq!(
        reasons.iter().filter(|r| *r == "reason:throttled").count(),
        1
    );
}

/// Admins manage their own organization's staff, and nothing else: a role
/// change applies at once, disabling ends every session and every sign-in,
/// and each change is in the audit log under the admin's name.
async fn an_admin_invites_changes_roles_and_disables_within_their_organization(env: Env) {
    let orgs = env.store.organizations();
    let clinic = orgs
        .create(OrganizationKind::Provider, "Riverside Clinic")
        .await
        .unwrap();
    let other = orgs
        .create(OrganizationKind::Provider, "Hillside Clinic")
        .await
        .unwrap();
    let staff = env.staff(Throttle::default());
    let add = |org: String, email: &'static str, role| {
        let staff = &staff;
        async move {
            let email = NormalizedEmail::parse(email).unwrap();
            let (id, token) = staff
                .add(&org, &email, &joy(), role, Actor::system("cli"))
                .await
                .unwrap();
            staff
                .enroll(token.as_str(), secret(PASSWORD))
                .await
                .unwrap();
            StaffMember {
                staff_id: id,
                organization_id: org,
                role,
            }
        }
    };
    let admin = add(
        clinic.id.clone(),
        "admin@riverside.example",
        StaffRole::Admin,
    )
    .await;
    let nurse = add(
        clinic.id.clone(),
        "nurse@riverside.example",
        StaffRole::Staff,
    )
    .await;
    let outsider = add(
        other.id.clone(),
        "dr@hillside.example",
        StaffRole::Clinician,
    )
    .await;
    let client = Client::default();

    // Inviting: the account is listed, named, not yet enrolled.
    let email = NormalizedEmail::parse("dr.ruiz@riverside.example").unwrap();
    let ruiz = StaffName::parse("Dr. Ana Ruiz").unwrap();
    let (ruiz_id, _link) =
        admin::staff::invite(&staff, &admin, &email, &ruiz, StaffRole::Clinician)
            .await
            .unwrap();
    let listed = admin::staff::list(&env.store, &admin).await.unwrap();
    assert_eq!(listed.len(), 3, "only this clinic's staff: {listed:?}");
    let line = listed.iter().find(|l| l.staff_id == ruiz_id).unwrap();
    assert_eq!(line.name.as_deref(), Some("Dr. Ana Ruiz"));
    assert_eq!(
        (line.role, line.enrolled, line.disabled),
        (StaffRole::Clinician, false, false)
    );

    // Anyone but an admin is refused, for every change.
    assert!(matches!(
        admin::staff::list(&env.store, &nurse).await,
        Err(Error::Denied)
    ));
    assert!(matches!(
        admin::staff::invite(&staff, &nurse, &email, &ruiz, StaffRole::Admin).await,
        Err(Error::Denied)
    ));
    assert!(matches!(
        admin::staff::change_role(
            &env.store,
            &env.audit,
            &nurse,
            &nurse.staff_id,
            StaffRole::Admin,
            &client
        )
        .await,
        Err(Error::Denied)
    ));
    assert!(matches!(
        admin::staff::disable(&env.store, &env.audit, &nurse, &admin.staff_id, &client).await,
        Err(Error::Denied)
    ));
    // Another organization's staff are out of reach; so is the admin's own account.
    assert!(matches!(
        admin::staff::disable(&env.store, &env.audit, &admin, &outsider.staff_id, &client).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        admin::staff::change_role(
            &env.store,
            &env.audit,
            &admin,
            &outsider.staff_id,
            StaffRole::Billing,
            &client
        )
        .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        admin::staff::disable(&env.store, &env.audit, &admin, &admin.staff_id, &client).await,
        Err(Error::Invalid { field: "staff", .. })
    ));

    // A role change shows in the profile the next request reads.
    admin::staff::change_role(
        &env.store,
        &env.audit,
        &admin,
        &nurse.staff_id,
        StaffRole::Billing,
        &client,
    )
    .await
    .unwrap();
    assert_eq!(
        staff::profile(&env.store, &nurse.staff_id)
            .await
            .unwrap()
            .role,
        StaffRole::Billing
    );

    // Disabling ends both of the nurse's sessions, and only theirs, and sign-in.
    let sessions = SessionRecords(&env.store);
    for (n, person) in [
        (1u8, &nurse.staff_id),
        (2, &nurse.staff_id),
        (3, &admin.staff_id),
    ] {
        let created = sessions
            .create(&SessionRecord {
                id_hash: [n; 32],
                person: Some(format!("staff:{person}")),
                data: "{}".into(),
                expires_at: now_ms() + 60_000,
            })
            .await
            .unwrap();
        assert!(created);
    }
    let ended = admin::staff::disable(&env.store, &env.audit, &admin, &nurse.staff_id, &client)
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert_eq!(sessions.load(&[1; 32]).await.unwrap(), None);
    assert!(
        sessions.load(&[3; 32]).await.unwrap().is_some(),
        "the admin's own session stays"
    );
    assert!(
        staff::profile(&env.store, &nurse.staff_id)
            .await
            .unwrap()
            .disabled
    );
    let nurse_email = NormalizedEmail::parse("nurse@riverside.example").unwrap();
    assert_eq!(
        staff
            .sign_in_with_password(&nurse_email, secret(PASSWORD), &client)
            .await
            .unwrap(),
        PasswordSignIn::Refused
    );

    // The log says who did each.
    let done = audit::events_by(&env.store, &Actor::staff(&admin.staff_id), Page::newest(20))
        .await
        .unwrap();
    for action in [
        Action::StaffInvited,
        Action::StaffRoleChanged,
        Action::StaffDisabled,
    ] {
        let event = done.iter().find(|e| e.event.action == action);
        let event = event.unwrap_or_else(|| panic!("no {action} by the admin"));
        assert_eq!(
            event.event.organization_id.as_deref(),
            Some(clinic.id.as_str())
        );
    }
}
