//! Notifications over SMTP, against a real SMTP server the test starts
//! (tests/support/smtp_server.py): what arrives, and that every email arrives
//! exactly once through TLS, a killed worker, a server that is down, and two
//! workers on one database.

mod support;

use std::{path::Path, time::Duration};

use portico_core::{
    audit::AuditLog,
    auth::{staff::StaffRole, Client},
    config::{SmtpSecurity, SmtpSettings},
    messages::{self, MailboxKind, Messaging, StaffMember},
    notify::{Courier, Delivery, SmtpTransport},
    store::{OrganizationKind, Store},
    testing::{migrated_store, sqlite_url, TestPortal},
    vault::{NormalizedEmail, RootKeyring, Vault},
};
use support::{by_message_id, free_port, header, wait_for, Portico, SmtpOptions, SmtpServer};

const SUBJECT_MARKER: &str = "MARKER-SUBJECT-71c3";
const BODY_MARKER: &str = "MARKER-BODY-71c3";

/// A clinic with a cardiology mailbox and a clinician, on some database.
struct Clinic {
    store: Store,
    vault: Vault,
    audit: AuditLog,
    mailbox: String,
    clinician: StaffMember,
}

impl Clinic {
    async fn on(store: Store, vault: Vault, audit: AuditLog) -> Self {
        let org = store
            .organizations()
            .create(OrganizationKind::Provider, "Riverside Clinic")
            .await
            .unwrap()
            .id;
        let mailbox = messages::create_mailbox(&store, &org, "Cardiology", MailboxKind::Clinical)
            .await
            .unwrap()
            .id;
        let clinician = StaffMember {
            staff_id: "0190f3c4-0000-7000-8000-000000000001".into(),
            organization_id: org,
            role: StaffRole::Clinician,
        };
        Self {
            store,
            vault,
            audit,
            mailbox,
            clinician,
        }
    }

    /// The SQLite database and root key under `data`, as `portico serve` will find them.
    async fn in_data_dir(data: &Path) -> Self {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data)
            .unwrap();
        let store = migrated_store(&sqlite_url(data)).await;
        let vault = Vault::load(store.clone(), RootKeyring::open(data, None).unwrap())
            .await
            .unwrap();
        let audit = AuditLog::start(store.clone());
        Self::on(store, vault, audit).await
    }

    /// A new thread to `to`, with markers in its subject and body: one notice queued.
    async fn write_to(&self, to: &str) {
        let messaging = Messaging {
            store: &self.store,
            vault: &self.vault,
            audit: &self.audit,
            link_lifetime: std::time::Duration::from_secs(3600),
            attachment_limits: Default::default(),
        };
        messaging
            .start_thread(
                &self.clinician,
                &self.mailbox,
                &NormalizedEmail::parse(to).unwrap(),
                &format!("{SUBJECT_MARKER} your echo results"),
                &format!("{BODY_MARKER} The echo shows mild regurgitation."),
                None,
                &Client::default(),
            )
            .await
            .unwrap();
    }

    async fn close(self) {
        self.audit.shutdown().await;
        self.store.close().await;
    }
}

/// Outbox rows: (id, attempts, sent) in order of creation.
async fn outbox(store: &Store) -> Vec<(String, i64, bool)> {
    let sql = "SELECT id, attempts, sent_at IS NOT NULL FROM outbox ORDER BY created_at, id";
    match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}

/// The part of this type in a message lettre built, decoded (7bit or quoted-printable).
fn part(mail: &str, content_type: &str) -> String {
    let start = mail
        .find(&format!("Content-Type: {content_type}"))
        .unwrap_or_else(|| panic!("no {content_type} part in {mail}"));
    let (head, body) = mail[start..].split_once("\r\n\r\n").unwrap();
    let body = &body[..body.find("\r\n--").unwrap_or(body.len())];
    if !head.contains("quoted-printable") {
        return body.to_owned();
    }
    let soft = body.replace("=\r\n", "");
    let mut out = Vec::new();
    let mut bytes = soft.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'=' => {
                let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                out.push(u8::from_str_radix(&hex, 16).expect("quoted-printable"));
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_arrives_over_starttls_with_auth_as_text_and_html_with_nothing_of_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let password = "PASSWORD-MARKER-9d41";
    std::fs::write(dir.path().join("smtp-password"), format!("{password}\n")).unwrap();
    let smtp = SmtpServer::start(
        dir.path(),
        free_port(),
        &SmtpOptions {
            tls: Some((cert_file.clone(), key_file)),
            auth: Some(("portal".into(), password.into())),
            stall: None,
        },
    );

    // Verification is not loosened: without the CA file, TLS fails and nothing is sent.
    let clinic = Clinic::in_data_dir(&data).await;
    clinic.write_to("ana@example.org").await;
    let untrusted = SmtpTransport::new(
        &SmtpSettings {
            host: "127.0.0.1".into(),
            port: smtp.port,
            security: SmtpSecurity::StartTls,
            credentials: None,
            ca_file: None,
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let delivery = Delivery::new(
        "Portico <no-reply@portal.example>".parse().unwrap(),
        Duration::from_secs(5),
    );
    let url = "http://localhost:3000".parse().unwrap();
    let courier = Courier {
        store: &clinic.store,
        vault: &clinic.vault,
        transport: &untrusted,
        public_url: &url,
        delivery: &delivery,
    };
    assert_eq!(courier.deliver(10, || false).await.unwrap(), 0);
    let rows = outbox(&clinic.store).await;
    assert_eq!((rows[0].1, rows[0].2), (1, false), "one failed attempt");
    let outbox_id = rows[0].0.clone();
    let Store::Sqlite(pool) = &clinic.store else {
        unreachable!()
    };
    let (error,): (String,) = sqlx::query_as("SELECT last_error FROM outbox")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(
        error.contains("certificate") && !error.contains('@'),
        "{error}"
    );
    // Due again at once, for the portal below.
    sqlx::query("UPDATE outbox SET next_attempt_at = 0")
        .execute(pool)
        .await
        .unwrap();
    clinic.close().await;

    let data_dir = data.display().to_string();
    let mut portico = Portico::serve(&[
        ("PORTICO_DATA_DIR", data_dir),
        (
            "PORTICO_MAIL_TRANSPORT",
            format!("smtp://127.0.0.1:{}", smtp.port),
        ),
        ("PORTICO_SMTP_USERNAME", "portal".into()),
        (
            "PORTICO_SMTP_PASSWORD_FILE",
            dir.path().join("smtp-password").display().to_string(),
        ),
        ("PORTICO_SMTP_CA_FILE", cert_file.display().to_string()),
        (
            "PORTICO_MAIL_FROM",
            "Riverside Portal <portal@portal.example>".into(),
        ),
    ]);
    let mail = wait_for("the notice", Duration::from_secs(30), || {
        smtp.messages().pop()
    });
    assert!(portico.terminate(), "portico stops cleanly on SIGTERM");

    assert_eq!(
        header(&mail, "Subject").unwrap(),
        "You have a new secure message"
    );
    assert_eq!(header(&mail, "To").unwrap(), "ana@example.org");
    let from = header(&mail, "From").unwrap();
    assert!(from.contains("Riverside Portal") && from.ends_with("<portal@portal.example>"));
    assert_eq!(
        header(&mail, "Message-ID").unwrap(),
        format!("<{outbox_id}@portal.example>")
    );
    assert!(header(&mail, "Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert!(
        mail.contains("Content-Type: text/html; charset=utf-8"),
        "{mail}"
    );
    let (text, html) = (part(&mail, "text/plain"), part(&mail, "text/html"));
    assert!(
        text.contains("Riverside Clinic sent you a secure message"),
        "{text}"
    );
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http://localhost:3000/open/"))
        .unwrap_or_else(|| panic!("no link in {text}"));
    assert!(html.contains(&format!("<a href=\"{link}\">")), "{html}");
    assert!(
        html.contains("<p>Riverside Clinic sent you a secure message.</p>"),
        "{html}"
    );
    assert_eq!(smtp.messages().len(), 1);

    // Nothing of the message anywhere: not in the mail, the log or the database
    // file; no address, link or password in the log either.
    let log = portico.log();
    assert!(log.contains("email sent"), "{log}");
    let token = link.rsplit('/').next().unwrap();
    for (what, haystack) in [("mail", &mail), ("html", &html), ("log", &log)] {
        assert!(
            !haystack.contains("MARKER-SUBJECT"),
            "subject in the {what}"
        );
        assert!(!haystack.contains("MARKER-BODY"), "body in the {what}");
        assert!(!haystack.contains("regurgitation"), "{what}");
    }
    for secret in ["ana@example.org", token, password] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    for file in ["portico.db", "portico.db-wal"] {
        let bytes = std::fs::read(data.join(file)).unwrap_or_default();
        let found = bytes.windows(6).any(|w| w == b"MARKER");
        assert!(!found, "a marker in {file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_batch_and_restarted_sends_every_notice_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let smtp = SmtpServer::start(
        dir.path(),
        free_port(),
        &SmtpOptions {
            stall: Some("^stall@".into()),
            ..SmtpOptions::default()
        },
    );
    let clinic = Clinic::in_data_dir(&data).await;
    let recipients = ["p1@example.org", "p2@example.org", "stall@example.org"];
    for to in recipients
        .iter()
        .chain(&["p4@example.org", "p5@example.org"])
    {
        clinic.write_to(to).await;
    }
    let store = clinic.store.clone();
    clinic.audit.shutdown().await;

    let settings = [
        ("PORTICO_DATA_DIR", data.display().to_string()),
        (
            "PORTICO_MAIL_TRANSPORT",
            format!("smtp+insecure://127.0.0.1:{}", smtp.port),
        ),
        // A lease lasts 2 x 4 s + 5 s: what the restarted worker waits for.
        ("PORTICO_SMTP_TIMEOUT", "4s".into()),
    ];
    let mut first = Portico::serve(&settings);
    wait_for("the server to stall", Duration::from_secs(30), || {
        smtp.stall_signal.exists().then_some(())
    });
    first.kill();
    let before = smtp.messages().len();
    assert_eq!(
        before, 2,
        "killed mid-batch: two sent, one in hand, two waiting"
    );
    let rows = outbox(&store).await;
    assert_eq!(rows.iter().filter(|r| r.2).count(), 2, "two marked sent");

    let mut second = Portico::serve(&settings);
    wait_for("every notice", Duration::from_secs(60), || {
        (by_message_id(&smtp.messages()).len() == 5).then_some(())
    });
    assert!(second.terminate());
    let counts = by_message_id(&smtp.messages());
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert_eq!(smtp.messages().len(), 5);
    let rows = outbox(&store).await;
    assert!(rows.iter().all(|r| r.2), "all marked sent");
    for (id, _, _) in &rows {
        assert_eq!(counts.get(&format!("<{id}@localhost>")), Some(&1), "{id}");
    }
    let attempts: Vec<i64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(attempts, [1, 1, 2, 1, 1], "the killed attempt counts");
    store.close().await;
}

/// A sender with short retries, as a constructor parameter.
fn quick_delivery() -> Delivery {
    Delivery {
        retry_first: Duration::from_millis(200),
        retry_cap: Duration::from_millis(400),
        ..Delivery::new(
            "Portico <no-reply@localhost>".parse().unwrap(),
            Duration::from_secs(5),
        )
    }
}

fn plain_smtp(port: u16) -> SmtpTransport {
    SmtpTransport::new(
        &SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::InsecureLoopback,
            credentials: None,
            ca_file: None,
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_mail_server_down_mail_waits_and_is_sent_once_when_it_is_back() {
    let portal = TestPortal::sqlite().await;
    let clinic = Clinic::on(portal.store.clone(), portal.vault, portal.audit).await;
    for n in 1..=3 {
        clinic.write_to(&format!("p{n}@example.org")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (transport, delivery) = (plain_smtp(port), quick_delivery());
    let url = "https://portal.example".parse().unwrap();
    let courier = Courier {
        store: &clinic.store,
        vault: &clinic.vault,
        transport: &transport,
        public_url: &url,
        delivery: &delivery,
    };
    assert_eq!(
        courier.deliver(10, || false).await.unwrap(),
        0,
        "nobody listens"
    );
    let Store::Sqlite(pool) = &clinic.store else {
        unreachable!()
    };
    let failed: Vec<(i64, i64, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT attempts, next_attempt_at, last_error, leased_by FROM outbox")
            .fetch_all(pool)
            .await
            .unwrap();
    let now = portico_core::store::now_ms();
    for (attempts, next, error, lease) in &failed {
        assert_eq!(*attempts, 1);
        assert!(
            *next > now - 1000 && lease.is_none(),
            "retried later, let go"
        );
        let error = error.as_deref().unwrap();
        assert!(
            error.starts_with("could not talk to the mail server: "),
            "{error}"
        );
        assert!(!error.contains('@'), "{error}");
    }

    let smtp = SmtpServer::start(dir.path(), port, &SmtpOptions::default());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut sent = 0;
    while sent < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the mail was not retried"
        );
        sent += courier.deliver(10, || false).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts = by_message_id(&smtp.messages());
    assert_eq!(counts.len(), 3);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
}

/// Two workers (two senders with leases of their own) drain one outbox at once.
async fn two_workers_on_one_database_send_each_email_once(portal: TestPortal) {
    const N: usize = 24;
    let clinic = Clinic::on(portal.store.clone(), portal.vault, portal.audit).await;
    for n in 0..N {
        clinic.write_to(&format!("p{n}@example.org")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path(), free_port(), &SmtpOptions::default());
    let url = "https://portal.example".parse().unwrap();
    let worker = |transport: SmtpTransport| {
        let (store, vault, url) = (&clinic.store, &clinic.vault, &url);
        async move {
            let delivery = quick_delivery();
            let courier = Courier {
                store,
                vault,
                transport: &transport,
                public_url: url,
                delivery: &delivery,
            };
            let mut sent = 0;
            loop {
                match courier.deliver(3, || false).await.unwrap() {
                    0 => return sent,
                    n => sent += n,
                }
            }
        }
    };
    let (a, b) = tokio::join!(worker(plain_smtp(smtp.port)), worker(plain_smtp(smtp.port)));
    assert_eq!(a + b, N as u32, "a sent {a}, b sent {b}");
    let counts = by_message_id(&smtp.messages());
    assert_eq!(counts.len(), N);
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    assert!(outbox(&clinic.store).await.iter().all(|r| r.2 && r.1 == 1));
}

portico_core::on_both_backends!(two_workers_on_one_database_send_each_email_once);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sigterm_the_worker_finishes_the_email_in_hand_and_hands_back_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let smtp = SmtpServer::start(
        dir.path(),
        free_port(),
        &SmtpOptions {
            stall: Some("^stall@".into()),
            ..SmtpOptions::default()
        },
    );
    let clinic = Clinic::in_data_dir(&data).await;
    for to in ["p1@example.org", "stall@example.org", "p3@example.org"] {
        clinic.write_to(to).await;
    }
    let store = clinic.store.clone();
    clinic.audit.shutdown().await;
    let mut portico = Portico::serve(&[
        ("PORTICO_DATA_DIR", data.display().to_string()),
        (
            "PORTICO_MAIL_TRANSPORT",
            format!("smtp+insecure://127.0.0.1:{}", smtp.port),
        ),
        ("PORTICO_SMTP_TIMEOUT", "3s".into()),
    ]);
    wait_for("the server to stall", Duration::from_secs(30), || {
        smtp.stall_signal.exists().then_some(())
    });
    // The email in hand ends (here: the stalled server times out) and is
    // recorded before the process exits; the one after it is handed back.
    assert!(portico.terminate(), "exits 0 after the email in hand");
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    let rows: Vec<(i64, bool, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT attempts, sent_at IS NOT NULL, last_error, leased_by FROM outbox \
         ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let stalled = Some("the mail server did not answer in time".to_owned());
    assert_eq!(
        rows,
        [
            (1, true, None, None),
            (1, false, stalled, None),
            (0, false, None, None),
        ],
        "sent; failed and due for a retry; never begun and free for another sender"
    );
    assert_eq!(smtp.messages().len(), 1);
    assert!(portico.log().contains("sender stopped"));
    store.close().await;
}
