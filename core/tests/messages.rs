//! Messages: who may read which thread, replies, revocation, expiry, read
//! receipts; on SQLite and PostgreSQL.

use portico_core::{
    admin::branding::{self, BrandingChange},
    audit::{self, Action, Actor, Outcome, Page},
    auth::staff::StaffRole,
    messages::{self, MailboxKind, MessageContent, Reader},
    on_both_backends,
    store::{now_ms, Store},
    testing::{exec, TestPortal},
    Error,
};

mod common;

use common::{ana, cardiology_writes_to_ana, client, contains, env_for};

const SUBJECT_MARKER: &str = "MARKER-SUBJECT-5b2e";
const BODY_MARKER: &str = "MARKER-BODY-5b2e";

on_both_backends!(
    only_the_patient_and_allowed_staff_read_a_thread,
    a_withdrawn_message_shows_only_who_withdrew_it_and_when,
    one_inbox_across_organizations_with_unread_and_coalesced_notices,
    a_thread_is_marked_read_up_to_the_newest_message_shown,
    a_thread_opens_whether_or_not_its_first_message_carries_the_subject,
    staff_views_of_a_thread_are_found_by_its_patients_id,
    a_view_is_one_event_naming_every_message_shown,
    a_view_and_its_read_mark_are_committed_together,
);

async fn only_the_patient_and_allowed_staff_read_a_thread(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let subject = format!("{SUBJECT_MARKER} your echo results");
    let body = format!("{BODY_MARKER} The echo looks normal.");
    let (thread, first) = cardiology_writes_to_ana(&env, &subject, &body).await;
    let ana_id = env.patient("ana@example.org").await;
    let patient = Reader::Patient(ana_id.clone());

    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert_eq!(view.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(view.organization_name, "Riverside Clinic");
    assert_eq!(view.mailbox_name, "Cardiology");
    assert_eq!(view.messages[0].content, MessageContent::Text(body.clone()));

    let reply = m
        .reply(&patient, &thread, "Thank you!", &client())
        .await
        .unwrap();
    let staff_view = m
        .thread(&Reader::Staff(env.clinician.clone()), &thread, &client())
        .await
        .unwrap();
    let texts: Vec<_> = staff_view
        .messages
        .iter()
        .map(|m| m.content.clone())
        .collect();
    assert_eq!(
        texts,
        [
            MessageContent::Text(body.clone()),
            MessageContent::Text("Thank you!".into())
        ]
    );
    assert_eq!(staff_view.messages[1].author_kind, "patient");
    assert_eq!(staff_view.messages[1].id, reply);

    // Billing and the front desk never see a clinical thread; nor does another clinic.
    for outsider in [&env.clerk, &env.front_desk, &env.elsewhere] {
        let refused = m
            .thread(&Reader::Staff(outsider.clone()), &thread, &client())
            .await;
        assert!(matches!(refused, Err(Error::Denied)), "{outsider:?}");
        let refused = m
            .reply(&Reader::Staff(outsider.clone()), &thread, "hi", &client())
            .await;
        assert!(matches!(refused, Err(Error::Denied)));
    }
    let denied = audit::events_by(
        &env.portal.store,
        &Actor::staff(&env.clerk.staff_id),
        Page::newest(10),
    )
    .await
    .unwrap();
    assert!(denied
        .iter()
        .any(|e| e.event.action == Action::ThreadViewed && e.event.outcome == Outcome::Denied));
    // Nor can they write from a mailbox they may not use.
    let writes = m
        .start_thread(
            &env.clerk,
            &env.cardiology,
            &ana(),
            "Bill",
            "Your bill",
            None,
            &client(),
        )
        .await;
    assert!(matches!(writes, Err(Error::Denied)));
    assert!(m
        .start_thread(
            &env.clerk,
            &env.billing,
            &ana(),
            "Bill",
            "Your bill",
            None,
            &client()
        )
        .await
        .is_ok());
    // Another patient is not told the thread exists.
    let ben = Reader::Patient(env.patient("ben@example.org").await);
    assert!(matches!(
        m.thread(&ben, &thread, &client()).await,
        Err(Error::NotFound)
    ));

    // Read receipts: the patient's first view names the first message in the log.
    let receipts = audit::events_about(&env.portal.store, &first, Page::newest(10))
        .await
        .unwrap();
    assert!(receipts
        .iter()
        .any(|e| e.event.action == Action::ThreadViewed
            && e.event.actor == Actor::patient(&ana_id)
            && e.event.subject_ids.contains(&thread)));

    // Bad input names its field and stores nothing.
    let empty = m
        .start_thread(
            &env.clinician,
            &env.cardiology,
            &ana(),
            " ",
            "x",
            None,
            &client(),
        )
        .await;
    assert!(matches!(
        empty,
        Err(Error::Invalid {
            field: "subject",
            ..
        })
    ));

    // Nothing readable at rest: the markers are in no stored subject or body,
    // while the same bytes opened give them back.
    let stored = sealed_bytes(&env.portal.store).await;
    assert!(!contains(&stored, SUBJECT_MARKER) && !contains(&stored, BODY_MARKER));
}

/// Every sealed subject and body, as the raw bytes stored.
async fn sealed_bytes(store: &Store) -> Vec<u8> {
    let sql = "SELECT t.subject_sealed, m.body_sealed FROM threads t JOIN messages m ON m.thread_id = t.id";
    let rows: Vec<(Vec<u8>, Vec<u8>)> = match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    };
    assert!(!rows.is_empty());
    rows.into_iter()
        .flat_map(|(a, b)| a.into_iter().chain(b))
        .collect()
}

async fn a_withdrawn_message_shows_only_who_withdrew_it_and_when(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let (thread, message) = cardiology_writes_to_ana(&env, "Biopsy", "Benign.").await;
    let patient = Reader::Patient(env.patient("ana@example.org").await);
    assert!(matches!(
        m.revoke(&env.clerk, &message, &client()).await,
        Err(Error::Denied)
    ));
    m.revoke(&env.clinician, &message, &client()).await.unwrap();
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    let MessageContent::Withdrawn { by, on } = &view.messages[0].content else {
        panic!("withdrawn: {view:?}")
    };
    assert_eq!(by, "Riverside Clinic");
    assert!(*on <= now_ms());
    assert_eq!(view.subject, None, "nothing more: not even the subject");
    let ana_id = env.patient("ana@example.org").await;
    let inbox = m.inbox(&ana_id, &client()).await.unwrap();
    assert_eq!(inbox[0].subject, None, "nor in the inbox");
    // The sender's staff still see what was sent.
    let staff_view = m
        .thread(&Reader::Staff(env.clinician.clone()), &thread, &client())
        .await
        .unwrap();
    assert_eq!(
        staff_view.messages[0].content,
        MessageContent::Text("Benign.".into())
    );
    let revoked = audit::events_about(&env.portal.store, &message, Page::newest(10))
        .await
        .unwrap();
    assert!(revoked
        .iter()
        .any(|e| e.event.action == Action::MessageRevoked));

    // Expiry set by the sender: past it, withdrawn too, and recorded once.
    let (thread, message) = m
        .start_thread(
            &env.clinician,
            &env.cardiology,
            &ana(),
            "Visit",
            "See you",
            Some(now_ms() - 1),
            &client(),
        )
        .await
        .unwrap();
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert!(matches!(
        view.messages[0].content,
        MessageContent::Withdrawn { .. }
    ));
    assert_eq!(
        messages::record_expired(&env.portal.store, &env.portal.audit)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        messages::record_expired(&env.portal.store, &env.portal.audit)
            .await
            .unwrap(),
        0
    );
    let expired = audit::events_about(&env.portal.store, &message, Page::newest(10))
        .await
        .unwrap();
    assert!(expired
        .iter()
        .any(|e| e.event.action == Action::MessageExpired));
    let _ = &env.clinic;
}

async fn one_inbox_across_organizations_with_unread_and_coalesced_notices(portal: TestPortal) {
    use portico_core::notify::{deliver_due, FileTransport};
    let env = env_for(portal).await;
    let m = env.messaging();
    let subject = format!("{SUBJECT_MARKER} results");
    let (cardio, _) = cardiology_writes_to_ana(&env, &subject, BODY_MARKER).await;
    // Two more messages in the same thread within the hour: one notice only.
    let staff = Reader::Staff(env.clinician.clone());
    m.reply(&staff, &cardio, "One more thing", &client())
        .await
        .unwrap();
    m.reply(&staff, &cardio, "And another", &client())
        .await
        .unwrap();
    let (hillside_mailbox, hillside) = {
        let mb = messages::create_mailbox(
            &env.portal.store,
            &env.elsewhere.organization_id,
            "Front desk",
            MailboxKind::General,
        )
        .await
        .unwrap();
        let (t, _) = m
            .start_thread(
                &env.elsewhere,
                &mb.id,
                &ana(),
                "Appointment",
                "See you Monday",
                None,
                &client(),
            )
            .await
            .unwrap();
        (mb.id, t)
    };
    let _ = hillside_mailbox;

    let ana_id = env.patient("ana@example.org").await;
    let inbox = m.inbox(&ana_id, &client()).await.unwrap();
    let lines: Vec<_> = inbox
        .iter()
        .map(|t| (t.organization_name.as_str(), t.subject.as_deref(), t.unread))
        .collect();
    assert_eq!(
        lines,
        [
            ("Hillside Clinic", Some("Appointment"), true),
            ("Riverside Clinic", Some(subject.as_str()), true),
        ],
        "one inbox, newest first"
    );
    m.thread(&Reader::Patient(ana_id.clone()), &cardio, &client())
        .await
        .unwrap();
    let inbox = m.inbox(&ana_id, &client()).await.unwrap();
    assert!(
        !inbox.iter().find(|t| t.thread_id == cardio).unwrap().unread,
        "read now"
    );
    assert!(
        inbox
            .iter()
            .find(|t| t.thread_id == hillside)
            .unwrap()
            .unread
    );
    // The patient's own reply does not make the thread unread.
    m.reply(
        &Reader::Patient(ana_id.clone()),
        &cardio,
        "Thanks",
        &client(),
    )
    .await
    .unwrap();
    let inbox = m.inbox(&ana_id, &client()).await.unwrap();
    assert!(!inbox.iter().find(|t| t.thread_id == cardio).unwrap().unread);

    // Notices: one per thread (coalesced), naming the organization and the link
    // only, in the language the patient last chose.
    portico_core::language::remember(
        &env.portal.store,
        &ana_id,
        portico_core::language::Language::Spanish,
    )
    .await
    .unwrap();
    // Riverside has a logo: its notice carries it inside the email.
    let logo = b"\x89PNG\r\n\x1a\nRIVERSIDE-LOGO".to_vec();
    let riverside_admin = common::member(&env.clinic, StaffRole::Admin, 9);
    let change = BrandingChange {
        display_name: "Riverside Clinic".into(),
        colour: String::new(),
        logo: Some(logo),
        remove_logo: false,
    };
    branding::set_branding(
        &env.portal.store,
        &env.portal.audit,
        &riverside_admin,
        &change,
        &client(),
    )
    .await
    .unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let transport = FileTransport {
        dir: outbox.path().to_owned(),
    };
    let url: url::Url = "https://portal.example".parse().unwrap();
    assert_eq!(
        deliver_due(&env.portal.store, &env.portal.vault, &transport, &url, 100)
            .await
            .unwrap(),
        2
    );
    for entry in std::fs::read_dir(outbox.path()).unwrap() {
        let mail = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            mail.contains("Subject: Tiene un nuevo mensaje seguro"),
            "{mail}"
        );
        assert!(mail.contains("Para leerlo, abra este enlace"), "{mail}");
        assert!(mail.contains("https://portal.example/open/"), "{mail}");
        assert!(
            !mail.contains("MARKER") && !mail.contains("Appointment") && !mail.contains("Monday"),
            "{mail}"
        );
        assert!(mail.contains("Riverside Clinic") || mail.contains("Hillside Clinic"));
        // Only Riverside's carries a logo, as an inline part (never fetched).
        let from_riverside = mail.contains("Riverside Clinic le envi");
        assert_eq!(
            mail.contains("Content-ID: <logo@portico>"),
            from_riverside,
            "{mail}"
        );
        assert!(!mail.contains("src=3D\"http"), "{mail}");
    }
}

/// When `reader` (`patient:<id>` or `mailbox:<id>`) last read `thread`.
async fn last_read(store: &Store, thread: &str, reader: &str) -> Option<i64> {
    let sql = "SELECT last_read_at FROM thread_reads WHERE thread_id = $1 AND reader = $2";
    match store {
        Store::Sqlite(pool) => sqlx::query_scalar(sql)
            .bind(thread)
            .bind(reader)
            .fetch_optional(pool)
            .await
            .unwrap(),
        Store::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(thread)
            .bind(reader)
            .fetch_optional(pool)
            .await
            .unwrap(),
    }
}

async fn a_thread_is_marked_read_up_to_the_newest_message_shown(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let (thread, _) = cardiology_writes_to_ana(&env, "Lab results", "Your results are in.").await;
    let ana_id = env.patient("ana@example.org").await;
    let patient = Reader::Patient(ana_id.clone());
    let as_patient = format!("patient:{ana_id}");
    let unread = |inbox: Vec<messages::ThreadSummary>| inbox.iter().any(|t| t.unread);
    assert_eq!(
        last_read(&env.portal.store, &thread, &as_patient).await,
        None
    );
    assert!(unread(m.inbox(&ana_id, &client()).await.unwrap()));

    // Read up to the newest message shown (not the time of the view, which a
    // message arriving meanwhile could precede), and the same after reading again.
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    let newest = view.messages.last().unwrap().sent_at;
    assert_eq!(
        last_read(&env.portal.store, &thread, &as_patient).await,
        Some(newest)
    );
    assert!(!unread(m.inbox(&ana_id, &client()).await.unwrap()));
    m.thread(&patient, &thread, &client()).await.unwrap();
    assert_eq!(
        last_read(&env.portal.store, &thread, &as_patient).await,
        Some(newest)
    );

    // A new message from the clinic is unread until it is shown.
    let staff = Reader::Staff(env.clinician.clone());
    // (Times are in milliseconds: the reply must come in a later one.)
    while now_ms() <= newest {
        tokio::task::yield_now().await;
    }
    m.reply(&staff, &thread, "Please call us.", &client())
        .await
        .unwrap();
    assert!(unread(m.inbox(&ana_id, &client()).await.unwrap()));
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    let newer = view.messages.last().unwrap().sent_at;
    assert!(newer > newest);
    assert_eq!(
        last_read(&env.portal.store, &thread, &as_patient).await,
        Some(newer)
    );
    assert!(!unread(m.inbox(&ana_id, &client()).await.unwrap()));

    // The mailbox has its own mark.
    let as_mailbox = format!("mailbox:{}", env.cardiology);
    m.thread(&staff, &thread, &client()).await.unwrap();
    assert_eq!(
        last_read(&env.portal.store, &thread, &as_mailbox).await,
        Some(newer)
    );
}

/// A new thread's first message is sealed with the subject (one opening per
/// view instead of two). A first message that does not carry it (sealed before
/// that, or withdrawn from the patient) still shows the thread's own subject.
async fn a_thread_opens_whether_or_not_its_first_message_carries_the_subject(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let (thread, first) = cardiology_writes_to_ana(&env, "Your visit", "First.").await;
    let staff = Reader::Staff(env.clinician.clone());
    let second = m
        .reply(&staff, &thread, "Second.", &client())
        .await
        .unwrap();
    let store = &env.portal.store;
    let carries = |id: String| async move {
        let sql = "SELECT carries_subject FROM messages WHERE id = $1";
        let carries: bool = match store {
            Store::Sqlite(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
            Store::Postgres(pool) => sqlx::query_scalar(sql).bind(id).fetch_one(pool).await,
        }
        .unwrap();
        carries
    };
    assert!(carries(first.clone()).await, "the first message carries it");
    assert!(!carries(second.clone()).await, "a reply does not");
    let patient = Reader::Patient(env.patient("ana@example.org").await);
    let texts = |view: &messages::ThreadView| -> Vec<MessageContent> {
        view.messages.iter().map(|m| m.content.clone()).collect()
    };
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert_eq!(view.subject.as_deref(), Some("Your visit"));
    assert_eq!(
        texts(&view),
        [
            MessageContent::Text("First.".into()),
            MessageContent::Text("Second.".into())
        ]
    );

    // As a first message sealed before the subject travelled with it: the
    // body alone (here the reply's, sealed to the same owners), flag unset.
    let sql = "UPDATE messages SET carries_subject = FALSE, \
               body_sealed = (SELECT body_sealed FROM messages WHERE id = $2) WHERE id = $1";
    exec(store, sql, &[&first, &second]).await;
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert_eq!(view.subject.as_deref(), Some("Your visit"));
    assert_eq!(
        view.messages[0].content,
        MessageContent::Text("Second.".into())
    );

    // Withdrawn from the patient, the first message is not opened for them;
    // the subject comes from the thread.
    m.revoke(&env.clinician, &first, &client()).await.unwrap();
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert!(matches!(
        view.messages[0].content,
        MessageContent::Withdrawn { .. }
    ));
    assert_eq!(view.subject.as_deref(), Some("Your visit"));
}

/// A patient's access history is read by their identity id
/// (`audit::events_about`): every event by someone else on their thread names
/// it, staff views, refusals and revocations included, and no one else's.
async fn staff_views_of_a_thread_are_found_by_its_patients_id(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let (thread, first) = cardiology_writes_to_ana(&env, "Your visit", "First.").await;
    let staff = Reader::Staff(env.clinician.clone());
    m.thread(&staff, &thread, &client()).await.unwrap();
    let refused = m
        .thread(&Reader::Staff(env.clerk.clone()), &thread, &client())
        .await;
    assert!(matches!(refused, Err(Error::Denied)));
    m.revoke(&env.clinician, &first, &client()).await.unwrap();

    let seen = |id: String| {
        let store = env.portal.store.clone();
        async move {
            audit::events_about(&store, &id, Page::newest(50))
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.event.actor, e.event.action, e.event.outcome))
                .collect::<Vec<_>>()
        }
    };
    let ana = seen(env.patient("ana@example.org").await).await;
    let clinician = Actor::staff(&env.clinician.staff_id);
    for expected in [
        (clinician.clone(), Action::ThreadViewed, Outcome::Success),
        (
            Actor::staff(&env.clerk.staff_id),
            Action::ThreadViewed,
            Outcome::Denied,
        ),
        (clinician.clone(), Action::MessageRevoked, Outcome::Success),
    ] {
        assert!(ana.contains(&expected), "{expected:?} in {ana:?}");
    }
    let ben = seen(env.patient("ben@example.org").await).await;
    assert!(
        ben.iter()
            .all(|(actor, ..)| actor.kind != audit::ActorKind::Staff),
        "{ben:?}"
    );
}

/// A thread's view is recorded as one `thread_viewed` event naming the thread
/// and each message shown. An event names at most `SUBJECTS_MAX` ids, so a
/// thread longer than that has its further messages named by `message_viewed`
/// events: every message shown is named by exactly one event of the view.
async fn a_view_is_one_event_naming_every_message_shown(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let (thread, first) = cardiology_writes_to_ana(&env, "Results", "Your results.").await;
    let ana_id = env.patient("ana@example.org").await;
    let patient = Reader::Patient(ana_id.clone());
    let view_events = || async {
        let mut events = audit::events_by(
            &env.portal.store,
            &Actor::patient(&ana_id),
            Page::newest(50),
        )
        .await
        .unwrap();
        events.retain(|e| matches!(e.event.action, Action::ThreadViewed | Action::MessageViewed));
        events
    };

    m.thread(&patient, &thread, &client()).await.unwrap();
    let events = view_events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event.action, Action::ThreadViewed);
    assert_eq!(events[0].event.subject_ids, [thread.clone(), first]);

    // Twenty more messages: 21 shown, more than one event can name.
    let staff = Reader::Staff(env.clinician.clone());
    for i in 0..20 {
        m.reply(&staff, &thread, &format!("Note {i}"), &client())
            .await
            .unwrap();
    }
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert_eq!(view.messages.len(), 21);
    // Newest first: all but the last are this view's.
    let events = view_events().await;
    let this_view = &events[..events.len() - 1];
    assert_eq!(this_view.len(), 2, "{this_view:?}");
    let mut named: Vec<&String> = Vec::new();
    for e in this_view {
        assert_eq!(e.event.subject_ids[0], thread);
        assert!(e.event.subject_ids.len() <= audit::SUBJECTS_MAX);
        named.extend(&e.event.subject_ids[1..]);
    }
    let actions: Vec<_> = this_view.iter().map(|e| e.event.action).collect();
    assert!(actions.contains(&Action::ThreadViewed) && actions.contains(&Action::MessageViewed));
    let mut shown: Vec<&String> = view.messages.iter().map(|m| &m.id).collect();
    named.sort();
    shown.sort();
    assert_eq!(named, shown, "each message shown named once");
}

/// The read mark a first view leaves is written in the view's audit
/// transaction: when the mark cannot be written (a trigger stands in for a full
/// disk), the view fails and leaves no event either, while views that may share
/// its batch go through, each with its event and its mark.
async fn a_view_and_its_read_mark_are_committed_together(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let store = &env.portal.store;
    let (refused, _) = cardiology_writes_to_ana(&env, "Refused", "One.").await;
    let others = [
        cardiology_writes_to_ana(&env, "Second", "Two.").await.0,
        cardiology_writes_to_ana(&env, "Third", "Three.").await.0,
    ];
    let ana_id = env.patient("ana@example.org").await;
    let patient = Reader::Patient(ana_id.clone());
    let as_patient = format!("patient:{ana_id}");
    let (refuse, allow) = match store {
        Store::Sqlite(_) => (
            vec![format!(
                "CREATE TRIGGER refuse_mark BEFORE INSERT ON thread_reads \
                 WHEN NEW.thread_id = '{refused}' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )],
            "DROP TRIGGER refuse_mark",
        ),
        Store::Postgres(_) => (
            vec![
                format!(
                    "CREATE FUNCTION refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.thread_id = '{refused}' THEN RAISE EXCEPTION 'disk full'; END IF; \
                     RETURN NEW; END $$"
                ),
                "CREATE TRIGGER refuse_mark BEFORE INSERT ON thread_reads \
                 FOR EACH ROW EXECUTE FUNCTION refuse_mark()"
                    .to_owned(),
            ],
            "DROP TRIGGER refuse_mark ON thread_reads",
        ),
    };
    for statement in &refuse {
        exec(store, statement, &[]).await;
    }
    let views_of = |thread: String| async move {
        audit::events_about(store, &thread, Page::newest(10))
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.event.action == Action::ThreadViewed)
            .count()
    };

    let client = client();
    let (a, b, c) = tokio::join!(
        m.thread(&patient, &refused, &client),
        m.thread(&patient, &others[0], &client),
        m.thread(&patient, &others[1], &client),
    );
    assert!(matches!(a, Err(Error::AuditUnavailable(_))), "{a:?}");
    assert_eq!(views_of(refused.clone()).await, 0);
    assert_eq!(last_read(store, &refused, &as_patient).await, None);
    for (view, thread) in [(b, &others[0]), (c, &others[1])] {
        let newest = view.unwrap().messages.last().unwrap().sent_at;
        assert_eq!(views_of(thread.clone()).await, 1);
        assert_eq!(last_read(store, thread, &as_patient).await, Some(newest));
    }

    // Once the mark can be written, the same view goes through with both.
    exec(store, allow, &[]).await;
    let view = m.thread(&patient, &refused, &client).await.unwrap();
    assert_eq!(views_of(refused.clone()).await, 1);
    assert_eq!(
        last_read(store, &refused, &as_patient).await,
        Some(view.messages.last().unwrap().sent_at)
    );
}
