//! A patient's access history: who did what to their items, in words a
//! patient can read; on SQLite and PostgreSQL.

use portico_core::{
    audit::{self, AccessEntry, Accessor, Action, Item, Outcome, HISTORY_PAGE},
    messages::Reader,
    on_both_backends,
    testing::TestPortal,
    Error,
};

mod common;

use common::{account, cardiology_writes_to_ana, client, env_for, Env};

on_both_backends!(
    the_history_names_staff_by_name_role_and_organization,
    the_history_pages_without_overlap_and_records_each_look,
);

async fn history(env: &Env, patient: &str, before: Option<audit::Seq>) -> audit::AccessHistoryPage {
    audit::access_history(
        &env.portal.store,
        &env.portal.audit,
        patient,
        before,
        &client(),
    )
    .await
    .unwrap()
}

fn find<'a>(
    entries: &'a [AccessEntry],
    action: Action,
    outcome: Outcome,
    who: &Accessor,
) -> Option<&'a AccessEntry> {
    entries
        .iter()
        .find(|e| e.action == action && e.outcome == outcome && e.who == *who)
}

async fn the_history_names_staff_by_name_role_and_organization(portal: TestPortal) {
    let env = env_for(portal).await;
    account(
        &env,
        &env.clinician,
        "dr.ruiz@riverside.example",
        Some("Dr. Ana Ruiz"),
    )
    .await;
    account(&env, &env.clerk, "clerk@riverside.example", None).await;
    let m = env.messaging();
    let (thread, _) = cardiology_writes_to_ana(&env, "Results", "Normal.").await;
    let ana_id = env.patient("ana@example.org").await;
    let ben_id = env.patient("ben@example.org").await;
    m.thread(&Reader::Patient(ana_id.clone()), &thread, &client())
        .await
        .unwrap();
    m.thread(&Reader::Staff(env.clinician.clone()), &thread, &client())
        .await
        .unwrap();
    let refused = m
        .thread(&Reader::Staff(env.clerk.clone()), &thread, &client())
        .await;
    assert!(matches!(refused, Err(Error::Denied)));
    let refused = m
        .thread(&Reader::Patient(ben_id.clone()), &thread, &client())
        .await;
    assert!(matches!(refused, Err(Error::NotFound)));
    m.reply(
        &Reader::Staff(env.clinician.clone()),
        &thread,
        "Any questions?",
        &client(),
    )
    .await
    .unwrap();

    let page = history(&env, &ana_id, None).await;
    let entries = &page.entries;
    assert_eq!(page.older, None, "one page holds it all");
    // Newest first, and the look at the history is itself the newest entry.
    assert!(entries.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(entries[0].action, Action::AccessHistoryViewed);
    assert_eq!(entries[0].who, Accessor::You);

    let ruiz = Accessor::Staff {
        name: Some("Dr. Ana Ruiz".into()),
        role: "clinician".into(),
        organization: "Riverside Clinic".into(),
    };
    let staff_view = find(entries, Action::ThreadViewed, Outcome::Success, &ruiz)
        .expect("the clinician's view is listed by name");
    assert_eq!(staff_view.item, Some(Item::Thread(thread.clone())));
    let sent: Vec<_> = entries
        .iter()
        .filter(|e| e.action == Action::MessageSent && e.who == ruiz)
        .collect();
    assert_eq!(
        sent.len(),
        2,
        "the first message and the reply: {entries:#?}"
    );
    let own_view = find(
        entries,
        Action::ThreadViewed,
        Outcome::Success,
        &Accessor::You,
    );
    assert_eq!(
        own_view.and_then(|e| e.item.clone()),
        Some(Item::Thread(thread.clone()))
    );
    let clerk = Accessor::Staff {
        name: None,
        role: "billing".into(),
        organization: "Riverside Clinic".into(),
    };
    assert!(find(entries, Action::ThreadViewed, Outcome::Denied, &clerk).is_some());
    let stranger = find(
        entries,
        Action::ThreadViewed,
        Outcome::Denied,
        &Accessor::SomeoneElse,
    )
    .expect("another patient's refused attempt is listed, not who they are");
    assert_eq!(stranger.item, Some(Item::Thread(thread.clone())));

    // Ben's history has his own refused attempt, without a link to Ana's
    // thread, and nothing of what staff did on it.
    let ben = history(&env, &ben_id, None).await.entries;
    let attempt = find(&ben, Action::ThreadViewed, Outcome::Denied, &Accessor::You)
        .expect("his own refused attempt");
    assert_eq!(attempt.item, None, "no link to an item that is not his");
    assert!(ben.iter().all(|e| e.who == Accessor::You), "{ben:#?}");
}

async fn the_history_pages_without_overlap_and_records_each_look(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let (thread, _) = cardiology_writes_to_ana(&env, "Results", "Normal.").await;
    let ana_id = env.patient("ana@example.org").await;
    let reader = Reader::Patient(ana_id.clone());
    // Each look writes one thread view: more than one page of events, fewer
    // than two.
    let looks = HISTORY_PAGE + 5;
    for _ in 0..looks {
        m.thread(&reader, &thread, &client()).await.unwrap();
    }
    let first = history(&env, &ana_id, None).await;
    assert_eq!(first.entries.len(), HISTORY_PAGE as usize);
    let older = first.older.expect("more than a page");
    assert_eq!(older, first.entries.last().unwrap().seq);
    let second = history(&env, &ana_id, Some(older)).await;
    assert!(second.entries.iter().all(|e| e.seq < older), "no overlap");
    let total = first.entries.len() + second.entries.len();
    // The views, the first message, and the first look; the second look is
    // newer than the page it asked for.
    assert_eq!(total, looks as usize + 2);
    assert_eq!(second.older, None);
    let looks = audit::events_by(
        &env.portal.store,
        &audit::Actor::patient(&ana_id),
        audit::Page::newest(500),
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|e| e.event.action == Action::AccessHistoryViewed)
    .count();
    assert_eq!(looks, 2, "each look at the history is recorded");
}
