//! Attachments: checked by content and size, sealed at rest, downloaded only by
//! who may read the thread (and recorded first), gone with a withdrawn message;
//! read receipts; staff told of a patient's reply. On SQLite and PostgreSQL.

mod common;

use argon2::Params;
use common::{ana, client, contains, env_for, Env};
use portico_core::{
    audit::{self, Action, Actor, ActorKind, Page},
    auth::{
        passwords::Passwords,
        staff::{StaffAccounts, StaffName, StaffRole, Throttle},
    },
    messages::{attachments, AttachmentLimits, AttachmentType, Draft, Reader},
    notify::MailKind,
    on_both_backends,
    store::Store,
    testing::TestPortal,
    vault::NormalizedEmail,
    Error,
};

const NAME_MARKER: &str = "MARKER-FILENAME-77c1";
const CONTENT_MARKER: &str = "MARKER-CONTENT-77c1";

on_both_backends!(
    a_pdf_goes_with_the_message_and_comes_back_whole,
    files_that_are_not_allowed_are_refused_and_leave_nothing,
    a_withdrawn_message_takes_its_files_with_it,
    staff_are_told_of_a_patients_reply_once_an_hour,
);

/// A PDF of about 2.5 MiB (so it is stored in several rows) with a marker in it.
fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend_from_slice(CONTENT_MARKER.as_bytes());
    let mut x: u32 = 7;
    while bytes.len() < 2_500_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push((x >> 16) as u8);
    }
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(CONTENT_MARKER.as_bytes());
    bytes
}

async fn download(env: &Env, reader: &Reader, id: &str) -> Result<Vec<u8>, Error> {
    let m = env.messaging();
    let found = m.download(reader, id, &client()).await?;
    let mut out = Vec::new();
    attachments::write_out(
        &env.portal.store,
        &env.portal.vault,
        id,
        &found.owner,
        &mut out,
    )
    .await?;
    Ok(out)
}

/// Every stored attachment byte: sealed names and sealed content.
async fn stored_attachment_bytes(store: &Store) -> (i64, Vec<u8>) {
    let names = "SELECT name_sealed FROM attachments";
    let chunks = "SELECT sealed FROM attachment_chunks";
    let (a, b): (Vec<Vec<u8>>, Vec<Vec<u8>>) = match store {
        Store::Sqlite(p) => (
            sqlx::query_scalar(names).fetch_all(p).await.unwrap(),
            sqlx::query_scalar(chunks).fetch_all(p).await.unwrap(),
        ),
        Store::Postgres(p) => (
            sqlx::query_scalar(names).fetch_all(p).await.unwrap(),
            sqlx::query_scalar(chunks).fetch_all(p).await.unwrap(),
        ),
    };
    (a.len() as i64, a.into_iter().chain(b).flatten().collect())
}

async fn a_pdf_goes_with_the_message_and_comes_back_whole(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let original = pdf();
    let mut draft = m
        .draft_thread(&env.clinician, &env.cardiology, &ana())
        .await
        .unwrap();
    let name = format!("{NAME_MARKER} echo.pdf");
    m.attach(&mut draft, &name, original.as_slice())
        .await
        .unwrap();
    assert_eq!(draft.attachments()[0].content_type, AttachmentType::Pdf);
    let (thread, message) = m
        .send(
            draft,
            Some("Your echo"),
            "Report attached.",
            None,
            &client(),
        )
        .await
        .unwrap();

    // Staff see no receipt until the patient has opened it.
    let staff = Reader::Staff(env.clinician.clone());
    let before = m.thread(&staff, &thread, &client()).await.unwrap();
    assert_eq!(before.messages[0].first_read_by_patient, None);

    let patient = Reader::Patient(env.patient("ana@example.org").await);
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    let files = &view.messages[0].attachments;
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, name);
    assert_eq!(files[0].size, original.len() as u64);
    let got = download(&env, &patient, &files[0].id).await.unwrap();
    assert!(got == original, "the patient gets the same bytes back");

    // The download was recorded, by the patient, before it was served.
    let events = audit::events_about(&env.portal.store, &files[0].id, Page::newest(10))
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.event.action == Action::AttachmentDownloaded
            && e.event.actor.kind == ActorKind::Patient));

    // The read receipt: when the patient first opened it, from the audit log.
    let after = m.thread(&staff, &thread, &client()).await.unwrap();
    let read_at = after.messages[0].first_read_by_patient.expect("a receipt");
    let viewed = audit::events_about(&env.portal.store, &message, Page::newest(50))
        .await
        .unwrap();
    let first_view = viewed
        .iter()
        .filter(|e| {
            e.event.action == Action::ThreadViewed && e.event.actor.kind == ActorKind::Patient
        })
        .map(|e| e.event.occurred_at)
        .min();
    assert_eq!(Some(read_at), first_view);

    // Billing staff may not, and another patient is not told it exists.
    let clerk = Reader::Staff(env.clerk.clone());
    assert!(matches!(
        download(&env, &clerk, &files[0].id).await,
        Err(Error::Denied)
    ));
    let ben = Reader::Patient(env.patient("ben@example.org").await);
    assert!(matches!(
        download(&env, &ben, &files[0].id).await,
        Err(Error::NotFound)
    ));

    // The patient replies with a picture; the clinician gets it.
    let mut reply = m.draft_reply(&patient, &thread, &client()).await.unwrap();
    m.attach(&mut reply, "rash.png", png().as_slice())
        .await
        .unwrap();
    m.send(reply, None, "Here is a photo.", None, &client())
        .await
        .unwrap();
    let view = m.thread(&staff, &thread, &client()).await.unwrap();
    let photo = &view.messages[1].attachments[0];
    assert_eq!(
        (photo.name.as_str(), photo.content_type),
        ("rash.png", AttachmentType::Png)
    );
    assert_eq!(download(&env, &staff, &photo.id).await.unwrap(), png());

    // Nothing readable at rest: neither the name nor the content.
    let (count, stored) = stored_attachment_bytes(&env.portal.store).await;
    assert_eq!(count, 2);
    assert!(!contains(&stored, NAME_MARKER) && !contains(&stored, CONTENT_MARKER));
}

async fn files_that_are_not_allowed_are_refused_and_leave_nothing(portal: TestPortal) {
    let mut env = env_for(portal).await;
    env.limits = AttachmentLimits {
        max_bytes: 100_000,
        max_per_message: 2,
    };
    let m = env.messaging();
    let fresh = || async {
        m.draft_thread(&env.clinician, &env.cardiology, &ana())
            .await
            .unwrap()
    };
    let refused = |r: Result<(), Error>| match r {
        Err(Error::Invalid { field, problem }) => {
            assert_eq!(field, "attachments");
            problem
        }
        other => panic!("expected a refusal, got {other:?}"),
    };

    let mut draft: Draft = fresh().await;
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec();
    let problem = refused(m.attach(&mut draft, "invoice.pdf", exe.as_slice()).await);
    assert!(problem.contains("PDF, PNG, JPEG"), "{problem}");

    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(100_001, b'x');
    let problem = refused(m.attach(&mut draft, "big.pdf", big.as_slice()).await);
    assert!(problem.contains("at most"), "{problem}");
    big.truncate(100_000);
    m.attach(&mut draft, "just-fits.pdf", big.as_slice())
        .await
        .unwrap();
    m.attach(&mut draft, "note.txt", &b"hello"[..])
        .await
        .unwrap();
    let problem = refused(m.attach(&mut draft, "third.txt", &b"hello"[..]).await);
    assert!(problem.contains("at most 2"), "{problem}");
    assert_eq!(stored_attachment_bytes(&env.portal.store).await.0, 2);

    // A message refused for its text takes its files with it.
    let refused_send = m.send(draft, Some("Bills"), "   ", None, &client()).await;
    assert!(matches!(
        refused_send,
        Err(Error::Invalid { field: "body", .. })
    ));
    assert_eq!(stored_attachment_bytes(&env.portal.store).await.0, 0);

    // So does a draft given up.
    let mut draft = fresh().await;
    m.attach(&mut draft, "note.txt", &b"hello"[..])
        .await
        .unwrap();
    m.discard(draft).await.unwrap();
    let (count, bytes) = stored_attachment_bytes(&env.portal.store).await;
    assert_eq!(
        (count, bytes.len()),
        (0, 0),
        "no rows and no chunks are left"
    );
}

async fn a_withdrawn_message_takes_its_files_with_it(portal: TestPortal) {
    let env = env_for(portal).await;
    let m = env.messaging();
    let mut draft = m
        .draft_thread(&env.clinician, &env.cardiology, &ana())
        .await
        .unwrap();
    m.attach(&mut draft, "scan.png", png().as_slice())
        .await
        .unwrap();
    let (thread, message) = m
        .send(draft, Some("Scan"), "Attached", None, &client())
        .await
        .unwrap();
    let patient = Reader::Patient(env.patient("ana@example.org").await);
    let id = m
        .thread(&patient, &thread, &client())
        .await
        .unwrap()
        .messages[0]
        .attachments[0]
        .id
        .clone();
    m.revoke(&env.clinician, &message, &client()).await.unwrap();
    let view = m.thread(&patient, &thread, &client()).await.unwrap();
    assert!(view.messages[0].attachments.is_empty(), "no file is listed");
    assert!(matches!(
        download(&env, &patient, &id).await,
        Err(Error::NotFound)
    ));
    // The sender's organization keeps its record.
    let staff = Reader::Staff(env.clinician.clone());
    assert_eq!(download(&env, &staff, &id).await.unwrap(), png());
}

async fn staff_are_told_of_a_patients_reply_once_an_hour(portal: TestPortal) {
    let env = env_for(portal).await;
    let passwords = Passwords::with(Params::new(1024, 1, 1, None).unwrap(), 2, 8);
    let accounts = StaffAccounts {
        store: &env.portal.store,
        vault: &env.portal.vault,
        audit: &env.portal.audit,
        passwords: &passwords,
        throttle: Throttle::default(),
    };
    let mut staff = Vec::new();
    for (email, role) in [
        ("doc@riverside.example", StaffRole::Clinician),
        ("clerk@riverside.example", StaffRole::Billing),
    ] {
        let name = StaffName::parse(email).unwrap();
        let email = NormalizedEmail::parse(email).unwrap();
        let (id, _) = accounts
            .add(&env.clinic, &email, &name, role, Actor::system("test"))
            .await
            .unwrap();
        let identity = env
            .portal
            .vault
            .identity_for_email(&email)
            .await
            .unwrap()
            .id;
        staff.push((id, identity));
    }
    let m = env.messaging();
    let (thread, _) = m
        .start_thread(
            &env.clinician,
            &env.cardiology,
            &ana(),
            "Visit",
            "How are you?",
            None,
            &client(),
        )
        .await
        .unwrap();
    let patient = Reader::Patient(env.patient("ana@example.org").await);
    m.reply(&patient, &thread, "Better, thanks", &client())
        .await
        .unwrap();
    m.reply(&patient, &thread, "One more thing", &client())
        .await
        .unwrap();

    let sql = "SELECT identity_id FROM outbox WHERE kind = $1 AND thread_id = $2";
    let told: Vec<String> = match &env.portal.store {
        Store::Sqlite(p) => sqlx::query_scalar(sql)
            .bind(MailKind::StaffReply.as_str())
            .bind(&thread)
            .fetch_all(p)
            .await
            .unwrap(),
        Store::Postgres(p) => sqlx::query_scalar(sql)
            .bind(MailKind::StaffReply.as_str())
            .bind(&thread)
            .fetch_all(p)
            .await
            .unwrap(),
    };
    // The clinician, once for two replies; never billing staff of a clinical mailbox.
    assert_eq!(told, vec![staff[0].1.clone()]);
}
