//! Admins manage their organization's mailboxes and API keys, and no one
//! else's; on SQLite and PostgreSQL.

use portico_core::{
    admin::integrations,
    api_keys::ApiKeys,
    audit::{self, Action, Actor, Page},
    auth::staff::StaffRole,
    messages::MailboxKind,
    on_both_backends,
    testing::TestPortal,
    Error,
};

mod common;

use common::{client, env_for, member};

on_both_backends!(admins_create_mailboxes_and_create_and_revoke_api_keys,);

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
