//! Behavioural alerts: an organization's rules, checked against its audit
//! log, raise one alert each (page, admins' email, audit event); on SQLite
//! and PostgreSQL.

use portico_core::{
    alerts::{self, AlertRules},
    audit::{self, Action, Actor, AuditEvent, Outcome, Page},
    auth::staff::StaffRole,
    messages::Reader,
    on_both_backends,
    store::now_ms,
    testing::{count, TestPortal},
    vault::NormalizedEmail,
    Error,
};

mod common;

use common::{account, client, env_for, member};

on_both_backends!(
    one_account_opening_many_patients_raises_one_alert_to_the_admins,
    a_download_outside_business_hours_raises_an_alert,
);

/// 2025-11-30 00:00 UTC.
const MIDNIGHT: i64 = 1_764_460_800_000;
const MINUTE: i64 = 60_000;

async fn one_account_opening_many_patients_raises_one_alert_to_the_admins(portal: TestPortal) {
    let env = env_for(portal).await;
    let admin = member(&env.clinic, StaffRole::Admin, 9);
    account(&env, &admin, "admin@riverside.example", Some("Ada Admin")).await;
    account(
        &env,
        &env.clinician,
        "dr@riverside.example",
        Some("Dr. Ana Ruiz"),
    )
    .await;
    let (store, log, vault) = (&env.portal.store, &env.portal.audit, &env.portal.vault);

    // Only an admin sets rules, and only sensible ones.
    let rules = AlertRules {
        max_patients_per_hour: Some(2),
        business_hours: None,
        time_zone: None,
    };
    let refused = alerts::set_rules(store, log, &env.clinician, rules.clone(), &client()).await;
    assert!(matches!(refused, Err(Error::Denied)));
    for bad in [
        AlertRules {
            max_patients_per_hour: Some(0),
            business_hours: None,
            time_zone: None,
        },
        AlertRules {
            max_patients_per_hour: None,
            business_hours: Some((17, 9)),
            time_zone: None,
        },
        AlertRules {
            max_patients_per_hour: None,
            business_hours: Some((9, 25)),
            time_zone: None,
        },
    ] {
        let refused = alerts::set_rules(store, log, &admin, bad.clone(), &client()).await;
        assert!(matches!(refused, Err(Error::Invalid { .. })), "{bad:?}");
    }
    let unknown_zone = AlertRules {
        time_zone: Some("Mars/Olympus_Mons".into()),
        ..rules.clone()
    };
    let refused = alerts::set_rules(store, log, &admin, unknown_zone, &client()).await;
    assert!(matches!(
        refused,
        Err(Error::Invalid {
            field: "time_zone",
            ..
        })
    ));
    alerts::set_rules(store, log, &admin, rules.clone(), &client())
        .await
        .unwrap();
    assert_eq!(alerts::rules(store, &env.clinic).await.unwrap(), rules);

    // The clinician opens two patients' threads: within the rule.
    let m = env.messaging();
    let mut threads = Vec::new();
    for patient in ["ana@example.org", "ben@example.org", "cy@example.org"] {
        let email = NormalizedEmail::parse(patient).unwrap();
        let (thread, _) = m
            .start_thread(
                &env.clinician,
                &env.cardiology,
                &email,
                "Hello",
                "Hi.",
                None,
                &client(),
            )
            .await
            .unwrap();
        threads.push(thread);
    }
    let staff = Reader::Staff(env.clinician.clone());
    for thread in &threads[..2] {
        m.thread(&staff, thread, &client()).await.unwrap();
    }
    assert_eq!(alerts::check(store, vault, now_ms()).await.unwrap(), 0);
    // A third patient: one alert, however often it is checked.
    m.thread(&staff, &threads[2], &client()).await.unwrap();
    let now = now_ms();
    assert_eq!(alerts::check(store, vault, now).await.unwrap(), 1);
    assert_eq!(alerts::check(store, vault, now + MINUTE).await.unwrap(), 0);

    let listed = alerts::list(store, &admin).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].rule, "many_patients");
    assert_eq!(listed[0].staff_name.as_deref(), Some("Dr. Ana Ruiz"));
    assert!(
        listed[0].detail.starts_with("items of 3 patients"),
        "{}",
        listed[0].detail
    );
    assert!(matches!(
        alerts::list(store, &env.clinician).await,
        Err(Error::Denied)
    ));

    // The admin, and only the admin, is emailed; the log names the account and rule.
    let queued = count(
        store,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'security_alert'",
        &[],
    )
    .await;
    assert_eq!(queued, 1, "one email, to the one admin");
    let raised = audit::events_about(store, &env.clinician.staff_id, Page::newest(50))
        .await
        .unwrap();
    let raised: Vec<_> = raised
        .iter()
        .filter(|e| e.event.action == Action::AlertRaised)
        .collect();
    assert_eq!(raised.len(), 1);
    assert!(raised[0]
        .event
        .subject_ids
        .contains(&"rule:many_patients".to_owned()));
    assert_eq!(raised[0].event.actor, Actor::system("alerts"));
}

async fn a_download_outside_business_hours_raises_an_alert(portal: TestPortal) {
    let env = env_for(portal).await;
    let admin = member(&env.clinic, StaffRole::Admin, 9);
    let (store, log, vault) = (&env.portal.store, &env.portal.audit, &env.portal.vault);
    let rules = AlertRules {
        max_patients_per_hour: None,
        business_hours: Some((8, 18)),
        time_zone: None,
    };
    alerts::set_rules(store, log, &admin, rules, &client())
        .await
        .unwrap();
    let download_at = |at: i64| {
        let mut event = AuditEvent::new(
            Actor::staff(&env.clinician.staff_id),
            Action::AttachmentDownloaded,
            Outcome::Success,
        )
        .about("0190f3c4-0000-7000-8000-0000000000aa".to_owned())
        .in_organization(env.clinic.clone());
        event.occurred_at = at;
        log.record(event)
    };
    // 10:30 is within business hours; 03:30 is not.
    download_at(MIDNIGHT + 630 * MINUTE).await.unwrap();
    assert_eq!(
        alerts::check(store, vault, MIDNIGHT + 640 * MINUTE)
            .await
            .unwrap(),
        0
    );
    download_at(MIDNIGHT + 210 * MINUTE).await.unwrap();
    assert_eq!(
        alerts::check(store, vault, MIDNIGHT + 220 * MINUTE)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        alerts::check(store, vault, MIDNIGHT + 225 * MINUTE)
            .await
            .unwrap(),
        0
    );
    let listed = alerts::list(store, &admin).await.unwrap();
    assert_eq!(listed[0].rule, "after_hours_download");
    assert_eq!(
        listed[0].detail,
        "a download at 2025-11-30 03:30 UTC, outside business hours 08:00 to 18:00"
    );

    // In the clinic's own time zone: New York is five hours behind UTC then.
    let new_york = AlertRules {
        max_patients_per_hour: None,
        business_hours: Some((8, 18)),
        time_zone: Some("America/New_York".into()),
    };
    alerts::set_rules(store, log, &admin, new_york.clone(), &client())
        .await
        .unwrap();
    assert_eq!(alerts::rules(store, &env.clinic).await.unwrap(), new_york);
    // 15:30 UTC is 10:30 in New York: within hours. 23:30 UTC is 18:30: not.
    download_at(MIDNIGHT + 930 * MINUTE).await.unwrap();
    assert_eq!(
        alerts::check(store, vault, MIDNIGHT + 940 * MINUTE)
            .await
            .unwrap(),
        0
    );
    download_at(MIDNIGHT + 1410 * MINUTE).await.unwrap();
    assert_eq!(
        alerts::check(store, vault, MIDNIGHT + 1420 * MINUTE)
            .await
            .unwrap(),
        1
    );
    let listed = alerts::list(store, &admin).await.unwrap();
    assert!(
        listed.iter().any(|a| a.detail
            == "a download at 2025-11-30 18:30 America/New_York, outside business hours 08:00 to 18:00"),
        "{:?}",
        listed.iter().map(|a| &a.detail).collect::<Vec<_>>()
    );
}
