//! Crash safety under load: `portico serve` is killed with SIGKILL while a
//! provider's systems send messages through the API and signed-in patients
//! read their threads and statements. After a restart every message the API
//! acknowledged is there and opens for its patient with the text sent; no
//! message is there without its `message_sent` event, and no thread without a
//! message; every view that was served was recorded; the audit chain verifies;
//! and each new thread's notice is sent, one email per notice (named by its
//! outbox row, so that a resend after the crash is the same email).

mod support;

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use portico_core::{
    audit::{self, AuditLog},
    auth::Client,
    messages::{create_mailbox, MailboxKind, MessageContent, Messaging, Reader},
    store::{OrganizationKind, Store},
    testing::{migrated_store, sqlite_url},
    vault::{RootKeyring, Vault},
};
use serde_json::{json, Value};
use support::{count, free_port, portico_ok, serve_on_async, wait_for, wait_until_outbox_sent};

const PATIENTS: usize = 4;
const SENDERS: usize = 3;
const READERS: usize = 3;
/// Kill once this many messages were acknowledged and views served.
const BEFORE_KILL: usize = 100;

/// What the API acknowledged: message id, thread id, body sent.
type Acknowledged = Arc<Mutex<Vec<(String, String, String)>>>;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Sends messages until the server is gone; any refusal other than "busy"
/// before then is a failure.
fn send_until_gone(port: u16, key: String, sender: usize, acked: Acknowledged) {
    let agent = agent();
    for n in 0.. {
        let body = format!("Load message {sender}-{n}: your potassium is 4.1 mmol/L.");
        let sent = agent
            .post(format!("http://127.0.0.1:{port}/api/v1/messages"))
            .header("authorization", &format!("Bearer {key}"))
            .header("content-type", "application/json")
            .send(
                json!({
                    "to": format!("patient{}@bench.example", n % PATIENTS),
                    "subject": format!("Results {sender}-{n}"),
                    "body": body,
                })
                .to_string(),
            );
        let Ok(mut res) = sent else { return };
        let status = res.status().as_u16();
        let Ok(text) = res.body_mut().read_to_string() else {
            return;
        };
        match status {
            201 => {
                let answer: Value = serde_json::from_str(&text).unwrap();
                acked.lock().unwrap().push((
                    answer["message_id"].as_str().unwrap().to_owned(),
                    answer["thread_id"].as_str().unwrap().to_owned(),
                    body,
                ));
            }
            503 => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("a send was refused with {other}: {text}"),
        }
    }
}

/// Opens `pages` in turn as the session `cookie` until the server is gone;
/// counts the views served.
fn read_until_gone(port: u16, cookie: String, pages: Vec<String>, served: Arc<AtomicUsize>) {
    let agent = agent();
    for path in pages.iter().cycle() {
        let got = agent
            .get(format!("http://127.0.0.1:{port}{path}"))
            .header("cookie", &format!("portico_session={cookie}"))
            .call();
        let Ok(mut res) = got else { return };
        let status = res.status().as_u16();
        // A page counts as served only once all of it arrived.
        let Ok(_) = res.body_mut().read_to_string() else {
            return;
        };
        match status {
            200 => {
                served.fetch_add(1, Ordering::SeqCst);
            }
            503 => std::thread::sleep(Duration::from_millis(10)),
            other => panic!("{path} answered {other}"),
        }
    }
}

async fn patient_of(store: &Store, thread_id: &str) -> String {
    let Store::Sqlite(pool) = store else {
        unreachable!("a SQLite test")
    };
    sqlx::query_scalar("SELECT patient_identity_id FROM threads WHERE id = $1")
        .bind(thread_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_under_load_loses_no_acknowledged_message_and_no_served_view() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico_ok(&data, &["migrate"]);
    let n = PATIENTS.to_string();
    let seed: Value = serde_json::from_str(&portico_ok(
        &data,
        &[
            "bench-seed",
            "--patients",
            &n,
            "--messages",
            &n,
            "--eobs",
            &n,
            "--sessions",
            &n,
        ],
    ))
    .unwrap();
    let store = migrated_store(&sqlite_url(&data)).await;
    let clinic = store
        .organizations()
        .create(OrganizationKind::Provider, "Load Test Clinic")
        .await
        .unwrap();
    let mailbox = create_mailbox(&store, &clinic.id, "Results", MailboxKind::Clinical)
        .await
        .unwrap();
    let key = portico_ok(
        &data,
        &[
            "api-key",
            "create",
            "--mailbox",
            &mailbox.id,
            "--label",
            "load",
        ],
    );
    let port = free_port();
    let mut server = serve_on_async(&data, port).await;

    // The load: senders through the API, readers of threads and statements.
    let acked: Acknowledged = Arc::default();
    let served = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for sender in 0..SENDERS {
        let (key, acked) = (key.clone(), acked.clone());
        load.push(std::thread::spawn(move || {
            send_until_gone(port, key, sender, acked)
        }));
    }
    for session in seed["sessions"].as_array().unwrap().iter().take(READERS) {
        let cookie = session["cookie"].as_str().unwrap().to_owned();
        let pages: Vec<String> = ["threads", "statements"]
            .iter()
            .flat_map(|k| session[*k].as_array().unwrap())
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        assert!(!pages.is_empty());
        let served = served.clone();
        load.push(std::thread::spawn(move || {
            read_until_gone(port, cookie, pages, served)
        }));
    }
    tokio::task::spawn_blocking({
        let (acked, served) = (acked.clone(), served.clone());
        move || {
            wait_for("load to build up", Duration::from_secs(120), || {
                let enough = acked.lock().unwrap().len() >= BEFORE_KILL
                    && served.load(Ordering::SeqCst) >= BEFORE_KILL;
                enough.then_some(())
            })
        }
    })
    .await
    .unwrap();
    server.kill();
    for thread in load {
        thread
            .join()
            .expect("no request was refused before the kill");
    }
    let acked = acked.lock().unwrap().clone();
    let served = served.load(Ordering::SeqCst);

    // Restarted on the same data: its notices go out.
    let server = serve_on_async(&data, port).await;

    // Every acknowledged message is there and opens for its patient as sent.
    let keyring = RootKeyring::open(&data, None).unwrap();
    let vault = Vault::load(store.clone(), keyring).await.unwrap();
    let audit_log = AuditLog::start(store.clone());
    let messaging = Messaging {
        store: &store,
        vault: &vault,
        audit: &audit_log,
        link_lifetime: Duration::from_secs(3600),
        attachment_limits: Default::default(),
    };
    for (message_id, thread_id, body) in &acked {
        let patient = patient_of(&store, thread_id).await;
        let view = messaging
            .thread(&Reader::Patient(patient), thread_id, &Client::default())
            .await
            .unwrap();
        let message = view.messages.iter().find(|m| m.id == *message_id);
        assert_eq!(
            message.map(|m| &m.content),
            Some(&MessageContent::Text(body.clone())),
            "acknowledged message {message_id}"
        );
    }

    // Nothing half-written: each of the clinic's messages with its event,
    // each thread with its message.
    let mailbox_messages = count(
        &store,
        &format!(
            "SELECT COUNT(*) FROM messages m JOIN threads t ON t.id = m.thread_id \
             WHERE t.mailbox_id = '{}'",
            mailbox.id
        ),
    )
    .await;
    assert!(mailbox_messages >= acked.len() as i64);
    eprintln!(
        "killed after {} messages acknowledged ({mailbox_messages} stored) and {served} views served",
        acked.len()
    );
    let sent_events = count(
        &store,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'message_sent' \
             AND organization_id = '{}'",
            clinic.id
        ),
    )
    .await;
    assert_eq!(sent_events, mailbox_messages, "each message with its event");
    let empty_threads = count(
        &store,
        "SELECT COUNT(*) FROM threads t WHERE NOT EXISTS \
         (SELECT 1 FROM messages m WHERE m.thread_id = t.id)",
    )
    .await;
    assert_eq!(empty_threads, 0, "no thread without its message");

    // Every view served was recorded before it was served (the checks above
    // add one thread view per acknowledged message).
    let recorded = count(
        &store,
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('thread_viewed', 'eob_viewed') \
         AND outcome = 'success'",
    )
    .await;
    assert!(
        recorded >= (served + acked.len()) as i64,
        "{recorded} views recorded, {served} served before the kill"
    );
    audit_log.shutdown().await;

    // Each new thread's notice is sent once the restarted server gets to it.
    let notices: BTreeSet<String> = {
        let Store::Sqlite(pool) = &store else {
            unreachable!()
        };
        sqlx::query_scalar("SELECT id FROM outbox WHERE organization_id = $1")
            .bind(&clinic.id)
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect()
    };
    assert_eq!(
        notices.len() as i64,
        mailbox_messages,
        "a notice per thread"
    );
    wait_until_outbox_sent(&store).await;
    let emails: BTreeSet<String> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = notices.iter().map(|id| format!("{id}.eml")).collect();
    assert_eq!(emails, expected, "one email per notice, none lost");
    drop(server);
    let report = audit::verify(&store).await.unwrap();
    assert!(report.broken.is_none(), "{report}");
}
