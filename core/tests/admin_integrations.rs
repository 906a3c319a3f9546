//! Admins manage their organization's mailboxes and API keys, and no one
//! else's; on SQLite and PostgreSQL.

use portico_core::{
    admin::{
        branding::{self, BrandingChange},
        integrations,
    },
    api_keys::{ApiKeys, Scope},
    audit::{self, Action, Actor, Page},
    auth::staff::StaffRole,
    messages::MailboxKind,
    on_both_backends,
    store::OrganizationKind,
    testing::TestPortal,
    Error,
};

mod common;

use common::{client, env_for, member};

on_both_backends!(
    admins_create_mailboxes_and_create_and_revoke_api_keys,
    admins_set_their_organizations_branding,
    a_health_plans_admin_creates_a_key_that_publishes_statements,
);

async fn a_health_plans_admin_creates_a_key_that_publishes_statements(portal: TestPortal) {
    let env = env_for(portal).await;
    let plan = env
        .portal
        .store
        .organizations()
        .create(OrganizationKind::HealthPlan, "Acme Health Plan")
        .await
        .unwrap();
    let keys = ApiKeys {
        store: &env.portal.store,
        audit: &env.portal.audit,
    };
    let plan_admin = member(&plan.id, StaffRole::Admin, 21);
    let (key, secret) = integrations::create_publisher_key(&keys, &plan_admin, "Claims system")
        .await
        .unwrap();
    let used = keys.authenticate(secret.as_str()).await.unwrap();
    assert_eq!(
        (used.id.as_str(), used.scope),
        (key.id.as_str(), Scope::PublishEobs)
    );
    assert_eq!(used.organization_id, plan.id);
    assert_eq!(
        integrations::api_keys(&keys, &plan_admin)
            .await
            .unwrap()
            .len(),
        1
    );

    // A clinic publishes no statements; a plan's other staff make no keys.
    let clinic_admin = member(&env.clinic, StaffRole::Admin, 22);
    let refused = integrations::create_publisher_key(&keys, &clinic_admin, "Nope").await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "organization",
            ..
        })
    ));
    let plan_staff = member(&plan.id, StaffRole::Staff, 23);
    let refused = integrations::create_publisher_key(&keys, &plan_staff, "Nope").await;
    assert!(matches!(refused, Err(Error::Denied)));
}

async fn admins_set_their_organizations_branding(portal: TestPortal) {
    let env = env_for(portal).await;
    let admin = member(&env.clinic, StaffRole::Admin, 9);
    let (store, log) = (&env.portal.store, &env.portal.audit);
    let png = b"\x89PNG\r\n\x1a\nnot really the rest".to_vec();
    let change = BrandingChange {
        display_name: " Riverside Heart Clinic ".into(),
        colour: "#7A1F5C".into(),
        logo: Some(png.clone()),
        remove_logo: false,
    };
    let refused = branding::set_branding(store, log, &env.clinician, &change, &client()).await;
    assert!(matches!(refused, Err(Error::Denied)));
    branding::set_branding(store, log, &admin, &change, &client())
        .await
        .unwrap();
    let b = branding::branding(store, &env.clinic).await.unwrap();
    assert_eq!(b.display_name, "Riverside Heart Clinic");
    assert_eq!(b.colour.as_deref(), Some("#7a1f5c"));
    assert_eq!(
        branding::logo(store, &env.clinic).await.unwrap(),
        Some((png, "image/png".to_owned()))
    );
    // A bad colour changes nothing, and names its field.
    let bad = BrandingChange {
        colour: "#ffee00".into(),
        logo: None,
        ..change.clone()
    };
    let refused = branding::set_branding(store, log, &admin, &bad, &client()).await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "colour",
            ..
        })
    ));
    assert_eq!(branding::branding(store, &env.clinic).await.unwrap(), b);
    // The logo is kept unless removed; the colour can go back to the portal's.
    let plain = BrandingChange {
        colour: String::new(),
        logo: None,
        remove_logo: true,
        ..change
    };
    branding::set_branding(store, log, &admin, &plain, &client())
        .await
        .unwrap();
    assert_eq!(branding::logo(store, &env.clinic).await.unwrap(), None);
    assert_eq!(
        branding::branding(store, &env.clinic).await.unwrap().colour,
        None
    );
    let done = audit::events_by(store, &Actor::staff(&admin.staff_id), Page::newest(5))
        .await
        .unwrap();
    assert_eq!(
        done.iter()
            .filter(|e| e.event.action == Action::BrandingChanged)
            .count(),
        2
    );
}

async fn admins_create_mailboxes_and_create_and_revoke_api_keys(portal: TestPortal) {
    let env = env_for(portal).await;
    let admin = member(&env.clinic, StaffRole::Admin, 9);
    let hillside_admin = member(&env.elsewhere.organization_id, StaffRole::Admin, 8);
    let (store, log) = (&env.portal.store, &env.portal.audit);
    let keys = ApiKeys { store, audit: log };

    let lab = integrations::create_mailbox(
        store,
        log,
        &admin,
        "Lab results",
        MailboxKind::Clinical,
        &client(),
    )
    .await
    .unwrap();
    let names: Vec<_> = integrations::mailboxes(store, &admin)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.display_name)
        .collect();
    assert!(names.contains(&"Lab results".to_owned()) && names.contains(&"Cardiology".to_owned()));
    let bad =
        integrations::create_mailbox(store, log, &admin, " ", MailboxKind::Clinical, &client())
            .await;
    assert!(matches!(
        bad,
        Err(Error::Invalid {
            field: "display_name",
            ..
        })
    ));

    let (key, secret) = integrations::create_api_key(&keys, &admin, &lab.id, "Lab feed")
        .await
        .unwrap();
    assert_eq!(keys.authenticate(secret.as_str()).await.unwrap().id, key.id);
    // Not from another organization's mailbox; not another organization's key.
    let foreign = integrations::create_api_key(&keys, &hillside_admin, &lab.id, "Stolen").await;
    assert!(matches!(
        foreign,
        Err(Error::Invalid {
            field: "mailbox",
            ..
        })
    ));
    let foreign = integrations::revoke_api_key(&keys, &hillside_admin, &key.id).await;
    assert!(matches!(foreign, Err(Error::NotFound)));
    assert!(integrations::api_keys(&keys, &hillside_admin)
        .await
        .unwrap()
        .is_empty());
    // Nor by anyone but an admin.
    for refused in [
        integrations::mailboxes(store, &env.clinician)
            .await
            .map(drop),
        integrations::create_api_key(&keys, &env.clinician, &lab.id, "x")
            .await
            .map(drop),
        integrations::revoke_api_key(&keys, &env.clinician, &key.id).await,
    ] {
        assert!(matches!(refused, Err(Error::Denied)));
    }

    integrations::revoke_api_key(&keys, &admin, &key.id)
        .await
        .unwrap();
    assert!(matches!(
        keys.authenticate(secret.as_str()).await,
        Err(Error::Denied)
    ));
    let listed = integrations::api_keys(&keys, &admin).await.unwrap();
    assert!(listed[0].revoked_at.is_some());

    let done = audit::events_by(store, &Actor::staff(&admin.staff_id), Page::newest(20))
        .await
        .unwrap();
    for action in [
        Action::MailboxChanged,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
    ] {
        assert!(done.iter().any(|e| e.event.action == action), "no {action}");
    }
}
