//! `portico api-key create|list|revoke` as an operator runs them, with
//! `portico serve` answering a key's requests: the secret is printed once and
//! stored nowhere; a revoked key is refused at once; and neither the logs (at
//! debug, database statements included) nor the database file ever hold a
//! message's subject or body, even from requests that were refused.

mod support;

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, ChildStdout, Command, Output, Stdio},
    time::{Duration, Instant},
};

use portico_core::{
    auth::Client,
    messages::{self, MailboxKind, Messaging, Reader},
    store::OrganizationKind,
    testing::{migrated_store, sqlite_url},
    vault::{NormalizedEmail, RootKeyring, Vault},
};

const SUBJECT_MARKER: &str = "MARKER-SUBJECT-c41e";
const BODY_MARKER: &str = "MARKER-BODY-c41e";

fn portico(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PORTICO_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("PORTICO_DATA_DIR", data)
        .env("PORTICO_LOG", "debug")
        .stdin(Stdio::null());
    cmd
}

fn run(data: &Path, args: &[&str]) -> Output {
    let out = portico(data).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `portico serve` on a free port, logging to its stdout; returns once ready.
fn serve(data: &Path) -> (Child, String, BufReader<ChildStdout>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = portico(data)
        .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("Portico is ready") {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "portico exited");
    }
    (child, format!("http://127.0.0.1:{port}"), stdout)
}

fn terminate(child: &mut Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "portico did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// POSTs `body` as JSON with `secret` as the bearer; the status and body.
fn send(base: &str, secret: &str, body: &str) -> (u16, String) {
    let agent = support::agent();
    let mut res = agent
        .post(format!("{base}/api/v1/messages"))
        .header("authorization", format!("Bearer {secret}"))
        .header("content-type", "application/json")
        .send(body.as_bytes().to_vec())
        .unwrap();
    (
        res.status().as_u16(),
        res.body_mut().read_to_string().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_makes_lists_and_revokes_a_key_and_no_content_reaches_logs_or_disk() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let store = migrated_store(&sqlite_url(data)).await;
    let clinic = store
        .organizations()
        .create(OrganizationKind::Provider, "Riverside Clinic")
        .await
        .unwrap();
    let mailbox = messages::create_mailbox(&store, &clinic.id, "Cardiology", MailboxKind::Clinical)
        .await
        .unwrap();
    store.close().await;

    // Create: the secret alone on stdout; the warning and the key's id on stderr.
    let made = run(
        data,
        &[
            "api-key",
            "create",
            "--mailbox",
            &mailbox.id,
            "--label",
            "Lab feed",
        ],
    );
    let secret = String::from_utf8(made.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert!(secret.starts_with("ptk_") && secret.len() == 47, "{secret}");
    let said = String::from_utf8_lossy(&made.stderr).into_owned();
    assert!(said.contains("cannot be shown again"), "{said}");
    assert!(!said.contains(&secret[4..]), "once, on stdout only");
    let unknown = portico(data)
        .args(["api-key", "create", "--mailbox", "nope", "--label", "x"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(text(&unknown).contains("no mailbox has id"));

    // List: the key, its mailbox and label; never the secret.
    let listed =
        String::from_utf8(run(data, &["api-key", "list", "--org", &clinic.id]).stdout).unwrap();
    let row = listed.lines().nth(1).expect("one key listed");
    let key_id = row.split('\t').next().unwrap().to_owned();
    assert!(
        row.contains(&mailbox.id) && row.ends_with("Lab feed"),
        "{row}"
    );
    assert!(
        !listed.contains(&secret[4..]),
        "the secret is shown once only"
    );

    let (mut server, base, mut logs) = serve(data);
    let subject = format!("{SUBJECT_MARKER} results");
    let body = format!("{BODY_MARKER} All normal.");
    let good = serde_json::json!({"to": "ana@example.org", "subject": subject, "body": body});
    let (status, answer) = send(&base, &secret, &good.to_string());
    assert_eq!(status, 201, "{answer}");
    let thread: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let thread = thread["thread_id"].as_str().unwrap().to_owned();
    // Refused requests carrying the markers: malformed, a missing member, a bad address.
    let refused = [
        format!("{{\"subject\": \"{subject}\", \"body\": \"{body}"),
        serde_json::json!({"to": "ana@example.org", "body": body}).to_string(),
        serde_json::json!({"to": subject, "subject": subject, "body": body}).to_string(),
    ];
    for request in &refused {
        let (status, answer) = send(&base, &secret, request);
        assert!(status == 400 || status == 422, "{status} {answer}");
        assert!(!answer.contains("MARKER"), "{answer}");
    }

    // Revoked while the portal serves: refused from the next request on.
    let revoked = run(data, &["api-key", "revoke", &key_id]);
    assert!(text(&revoked).contains("revoked"));
    let (status, _) = send(&base, &secret, &good.to_string());
    assert_eq!(status, 401);

    terminate(&mut server);
    let mut logged = String::new();
    logs.read_to_string(&mut logged).unwrap();
    assert!(
        logged.contains("/api/v1/messages"),
        "requests are logged:\n{logged}"
    );
    for secret_text in ["MARKER", &secret[4..]] {
        assert!(
            !logged.contains(secret_text),
            "{secret_text} was logged:\n{logged}"
        );
    }
    let mut stored = Vec::new();
    for file in ["portico.db", "portico.db-wal"] {
        stored.extend(std::fs::read(data.join(file)).unwrap_or_default());
    }
    for needle in [SUBJECT_MARKER, BODY_MARKER, &secret[4..]] {
        assert!(
            !stored.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} is readable in the database file"
        );
    }

    // The patient reads it, from the key's mailbox, authored by the key.
    let store = migrated_store(&sqlite_url(data)).await;
    let vault = Vault::load(store.clone(), RootKeyring::open(data, None).unwrap())
        .await
        .unwrap();
    let audit = portico_core::audit::AuditLog::start(store.clone());
    let ana = NormalizedEmail::parse("ana@example.org").unwrap();
    let ana = vault.find_identity(&ana).await.unwrap().unwrap().id;
    let m = Messaging {
        store: &store,
        vault: &vault,
        audit: &audit,
        link_lifetime: std::time::Duration::from_secs(3600),
        attachment_limits: Default::default(),
    };
    let view = m
        .thread(&Reader::Patient(ana), &thread, &Client::default())
        .await
        .unwrap();
    assert_eq!(view.subject.as_deref(), Some(subject.as_str()));
    assert_eq!(view.messages[0].author_kind, "api_key");
    let by_cli =
        portico_core::audit::events_about(&store, &key_id, portico_core::audit::Page::newest(10))
            .await
            .unwrap();
    let actions: Vec<_> = by_cli
        .iter()
        .filter(|e| e.event.actor == portico_core::audit::Actor::system("cli"))
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(actions, ["api_key_revoked", "api_key_created"]);
}
