//! Crash safety of bulk EOB ingest: `portico serve` is killed with SIGKILL in
//! the middle of a streamed upload. After a restart every batch it had
//! acknowledged is there and opens for its member, no batch is there in part
//! (EOBs, their audit events, notices and the upload's counts go together),
//! the audit chain verifies, and each member's notice is sent: one email per
//! notice, named (and `Message-ID`-ed) by its outbox row, so that the rare
//! resend of an email the killed process wrote but had not marked sent reaches
//! the member as the same message.

mod support;

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{Read, Write},
    time::Duration,
};

use portico_core::{
    audit::{self, AuditLog},
    auth::Client,
    eob::{uploads, Statements},
    store::Store,
    testing::{migrated_store, sqlite_url},
    vault::{RootKeyring, Vault},
};
use serde_json::{json, Value};
use support::{
    count, eb3500, free_port, http_get, portico_ok as portico, serve_on_async, wait_for,
    wait_until_outbox_sent, with_patient,
};

const MEMBERS: usize = 40;
const LINES: usize = 2_600;

/// The newest upload as the plan's system sees it.
fn newest_upload(port: u16, key: &str) -> Value {
    let (_, body) = http_get(
        port,
        "/api/v1/eob/$bulk",
        ("authorization", &format!("Bearer {key}")),
    );
    let list: Value = serde_json::from_str(&body).unwrap();
    list["uploads"][0].clone()
}

async fn newest_upload_blocking(port: u16, key: &str) -> Value {
    let key = key.to_owned();
    tokio::task::spawn_blocking(move || newest_upload(port, &key))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_upload_killed_midway_keeps_whole_batches_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    portico(&data, &["migrate"]);
    let plan = portico(
        &data,
        &[
            "org",
            "add",
            "--kind",
            "health-plan",
            "--name",
            "Crash Test Plan",
        ],
    );
    let key = portico(
        &data,
        &["apikey", "create", "--org", &plan, "--scope", "eob:publish"],
    );
    let port = free_port();
    let mut server = serve_on_async(&data, port).await;

    // More than two batches of lines, sent without ending the body.
    let mut body = Vec::new();
    for i in 0..LINES {
        let mut eob = eb3500();
        eob["identifier"][0]["value"] = json!(format!("crash-claim-{i}"));
        body.extend_from_slice(&with_patient(
            &eob,
            &format!("member{}@example.org", i % MEMBERS),
        ));
        body.push(b'\n');
    }
    let mut upload = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /api/v1/eob/$bulk HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/fhir+ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    );
    upload.write_all(head.as_bytes()).unwrap();
    upload.write_all(&body).unwrap();
    upload.write_all(b"\r\n").unwrap();

    // Once a batch is acknowledged (counted in the upload), kill the server
    // wherever it is in the next one.
    let key_for_poll = key.clone();
    let acknowledged = tokio::task::spawn_blocking(move || {
        wait_for("a batch to be written", Duration::from_secs(60), || {
            let upload = newest_upload(port, &key_for_poll);
            let accepted = upload["accepted"].as_i64().unwrap_or(0);
            (accepted > 0).then_some(accepted)
        })
    })
    .await
    .unwrap();
    server.kill();
    let mut answer = Vec::new();
    let _ = upload.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("200 OK"),
        "the upload was never answered as finished"
    );

    // Restarted on the same data.
    let server = serve_on_async(&data, port).await;
    let store = migrated_store(&sqlite_url(&data)).await;
    let eobs = count(&store, "SELECT COUNT(*) FROM eobs").await;
    let (counted, accepted): (i64, i64) = {
        let Store::Sqlite(pool) = &store else {
            unreachable!()
        };
        sqlx::query_as("SELECT eobs, accepted FROM eob_uploads")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert!(accepted >= acknowledged, "every acknowledged batch is kept");
    assert!(eobs < LINES as i64, "the kill came before the end");
    assert_eq!(
        eobs, counted,
        "the EOBs are exactly those the upload counted"
    );
    let published = count(
        &store,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'eob_published'",
    )
    .await;
    assert_eq!(
        published, eobs,
        "each EOB with its publication event, none without"
    );

    // The upload the kill cut off is failed once its heartbeat is old enough
    // (not before: a live, slow upload looks the same for a while).
    assert_eq!(
        newest_upload_blocking(port, &key).await["state"],
        "receiving"
    );
    assert_eq!(
        uploads::fail_abandoned(&store, uploads::PRESUMED_DEAD_AFTER)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        uploads::fail_abandoned(&store, Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    let after = newest_upload_blocking(port, &key).await;
    assert_eq!(after["state"], "failed", "{after}");
    assert_eq!(
        after["accepted"].as_i64(),
        Some(accepted),
        "what was acknowledged stays"
    );

    // Every EOB opens for its member, and says what was published.
    let keyring = RootKeyring::open(&data, None).unwrap();
    let vault = Vault::load(store.clone(), keyring).await.unwrap();
    let audit_log = AuditLog::start(store.clone());
    let statements = Statements {
        store: &store,
        vault: &vault,
        audit: &audit_log,
    };
    let owners: Vec<(String, String)> = {
        let Store::Sqlite(pool) = &store else {
            unreachable!()
        };
        sqlx::query_as("SELECT id, identity_id FROM eobs")
            .fetch_all(pool)
            .await
            .unwrap()
    };
    let mut claims = BTreeSet::new();
    for (id, member) in &owners {
        let original = statements
            .original(member, id, &Client::default())
            .await
            .unwrap();
        let eob: Value = serde_json::from_slice(&original).unwrap();
        claims.insert(eob["identifier"][0]["value"].as_str().unwrap().to_owned());
    }
    assert_eq!(claims.len() as i64, eobs, "each claim once");
    audit_log.shutdown().await;
    let report = audit::verify(&store).await.unwrap();
    assert!(report.broken.is_none(), "{report}");

    // Each member with statements gets one notice, sent once, after the restart too.
    let members: BTreeSet<&String> = owners.iter().map(|(_, m)| m).collect();
    let notices = count(
        &store,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'new_statements'",
    )
    .await;
    assert_eq!(notices, members.len() as i64);
    let outbox = data.join("outbox");
    wait_until_outbox_sent(&store).await;
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    for entry in std::fs::read_dir(&outbox).unwrap().flatten() {
        *files
            .entry(entry.file_name().to_string_lossy().into_owned())
            .or_default() += 1;
    }
    assert_eq!(files.len() as i64, notices, "one email per notice");
    drop(server);
}
