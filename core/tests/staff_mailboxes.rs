//! Staff mailbox pages: unread counts per mailbox and per thread, shared by the
//! mailbox's staff, and refused (and recorded) for a role the mailbox excludes.

mod common;

use common::{ana, client, env_for};
use portico_core::{
    audit::{self, Action, Outcome, Page},
    messages::Reader,
    on_both_backends,
    testing::TestPortal,
    Error,
};

on_both_backends!(unread_counts_follow_the_patients_replies);

async fn unread_counts_follow_the_patients_replies(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let counts = |summaries: Vec<portico_core::messages::MailboxSummary>| {
        summaries
            .into_iter()
            .map(|s| (s.mailbox.display_name, s.unread_threads))
            .collect::<Vec<_>>()
    };
    let (thread, _) = m
        .start_thread(
            &env.clinician,
            &env.cardiology,
            &ana(),
            "Follow-up",
            "How are you?",
            None,
            &client(),
        )
        .await
        .unwrap();
    // The clinician's own message is not unread for the mailbox.
    assert_eq!(
        counts(m.my_mailboxes(&env.clinician).await.unwrap()),
        [("Cardiology".to_owned(), 0)]
    );

    let patient = Reader::Patient(env.patient("ana@example.org").await);
    m.reply(&patient, &thread, "Better", &client())
        .await
        .unwrap();
    m.reply(&patient, &thread, "Thanks", &client())
        .await
        .unwrap();
    assert_eq!(
        counts(m.my_mailboxes(&env.clinician).await.unwrap()),
        [("Cardiology".to_owned(), 1)]
    );
    let (_, threads) = m
        .mailbox_threads(&env.clinician, &env.cardiology, &client())
        .await
        .unwrap();
    assert_eq!(
        (threads[0].subject.as_deref(), threads[0].unread),
        (Some("Follow-up"), 2)
    );

    // Opening the thread reads it for the whole mailbox.
    m.thread(&Reader::Staff(env.clinician.clone()), &thread, &client())
        .await
        .unwrap();
    let (_, threads) = m
        .mailbox_threads(&env.clinician, &env.cardiology, &client())
        .await
        .unwrap();
    assert_eq!(threads[0].unread, 0);

    // Billing staff see only the billing mailbox, and cannot list cardiology's.
    assert_eq!(
        counts(m.my_mailboxes(&env.clerk).await.unwrap()),
        [("Billing".to_owned(), 0)]
    );
    assert!(matches!(
        m.mailbox_threads(&env.clerk, &env.cardiology, &client())
            .await,
        Err(Error::Denied)
    ));
    let denied = audit::events_about(&env.portal.store, &env.cardiology, Page::newest(20))
        .await
        .unwrap();
    assert!(denied
        .iter()
        .any(|e| e.event.action == Action::InboxViewed && e.event.outcome == Outcome::Denied));
}
