//! Staff accounts: enrollment links, password sign-in, throttling, and telling
//! the owner about failures; on SQLite and PostgreSQL.

use std::time::Duration;

use argon2::Params;
use portico_core::{
    audit::{self, Action, Actor, Outcome, Page},
    auth::{
        passwords::Passwords,
        staff::{PasswordSignIn, StaffAccounts, StaffName, StaffRole, Throttle},
        Client,
    },
    on_both_backends,
    store::OrganizationKind,
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
