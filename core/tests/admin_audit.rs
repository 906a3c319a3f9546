//! An organization's admins search and export its audit log; on SQLite and
//! PostgreSQL.

use portico_core::{
    admin::audit_log::{export_csv, search, SEARCH_PAGE},
    audit::{self, Action, Actor, AuditFilter, Outcome, Page},
    auth::staff::StaffRole,
    messages::Reader,
    on_both_backends,
    testing::TestPortal,
    Error,
};

mod common;

use common::{cardiology_writes_to_ana, client, env_for, member};

on_both_backends!(admins_find_their_organizations_events_by_patient_staff_action_and_time,);

async fn admins_find_their_organizations_events_by_patient_staff_action_and_time(
    portal: TestPortal,
) {
    let env = env_for(portal).await;
    let admin = member(&env.clinic, StaffRole::Admin, 9);
    let (store, log) = (&env.portal.store, &env.portal.audit);
    let m = env.messaging();
    let (thread, _) = cardiology_writes_to_ana(&env, "Results", "Normal.").await;
    let ana_id = env.patient("ana@example.org").await;
    let views = SEARCH_PAGE + 5;
    for _ in 0..views {
        m.thread(&Reader::Patient(ana_id.clone()), &thread, &client())
            .await
            .unwrap();
    }
    m.thread(&Reader::Staff(env.clinician.clone()), &thread, &client())
        .await
        .unwrap();
    let refused = m
        .thread(&Reader::Staff(env.clerk.clone()), &thread, &client())
        .await;
    assert!(matches!(refused, Err(Error::Denied)));
    // Ben's thread, in the same clinic, is not about Ana.
    let ben = portico_core::vault::NormalizedEmail::parse("ben@example.org").unwrap();
    m.start_thread(
        &env.clinician,
        &env.cardiology,
        &ben,
        "Other",
        "Hello.",
        None,
        &client(),
    )
    .await
    .unwrap();

    let admin = &admin;
    let find = |filter: AuditFilter| async move {
        search(store, log, admin, &filter, None, &client())
            .await
            .unwrap()
    };
    // By patient: Ana's own views and the staff's, a page at a time, none of Ben's.
    let by_patient = AuditFilter {
        patient_id: Some(ana_id.clone()),
        ..AuditFilter::default()
    };
    let (first, older) = find(by_patient.clone()).await;
    assert_eq!(first.len(), SEARCH_PAGE as usize);
    let older = older.expect("more than a page");
    let (second, last) = search(store, log, admin, &by_patient, Some(older), &client())
        .await
        .unwrap();
    assert_eq!(last, None);
    assert!(second.iter().all(|e| e.seq < older));
    // The sent message, each view of the thread (one event naming its
    // message), the clinician's view, the clerk's refusal, and this search,
    // recorded before it ran.
    assert_eq!(first.len() + second.len(), 1 + views as usize + 1 + 1 + 1);
    assert_eq!(first[0].event.action, Action::AuditSearched);
    for e in first.iter().chain(&second) {
        assert_eq!(
            e.event.organization_id.as_deref(),
            Some(env.clinic.as_str())
        );
        assert!(
            e.event.actor.id == ana_id || e.event.subject_ids.contains(&ana_id),
            "{e:?}"
        );
    }

    // By staff member: the clerk's refusal alone.
    let (clerk, _) = find(AuditFilter {
        staff_id: Some(env.clerk.staff_id.clone()),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(clerk.len(), 1);
    assert_eq!(
        (clerk[0].event.action, clerk[0].event.outcome),
        (Action::ThreadViewed, Outcome::Denied)
    );

    // By action and time.
    let (sent, _) = find(AuditFilter {
        action: Some(Action::MessageSent),
        ..AuditFilter::default()
    })
    .await;
    assert_eq!(sent.len(), 2);
    let (none, _) = find(AuditFilter {
        action: Some(Action::MessageSent),
        until: Some(sent[1].event.occurred_at),
        ..AuditFilter::default()
    })
    .await;
    assert!(
        none.is_empty(),
        "until is exclusive, and nothing was sent before"
    );

    // Export: a header, then each matching event.
    let mut csv = Vec::new();
    let written = export_csv(
        store,
        log,
        admin,
        &AuditFilter {
            staff_id: Some(env.clerk.staff_id.clone()),
            ..AuditFilter::default()
        },
        &client(),
        &mut csv,
    )
    .await
    .unwrap();
    assert_eq!(written, 1);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.starts_with("seq,occurred_at,"));
    assert!(csv.contains(",thread_viewed,") && csv.contains(",denied,"));

    // Only admins; and every search and export is itself recorded.
    let refused = search(store, log, &env.clinician, &by_patient, None, &client()).await;
    assert!(matches!(refused, Err(Error::Denied)));
    let done = audit::events_by(store, &Actor::staff(&admin.staff_id), Page::newest(50))
        .await
        .unwrap();
    let searched = done
        .iter()
        .filter(|e| e.event.action == Action::AuditSearched)
        .count();
    assert_eq!(searched, 5);
    assert!(done
        .iter()
        .any(|e| e.event.action == Action::AuditSearched && e.event.subject_ids.contains(&ana_id)));
    assert!(done.iter().any(|e| e.event.action == Action::AuditExported));
}
