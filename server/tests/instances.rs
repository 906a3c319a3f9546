//! Two `portico serve` processes on one PostgreSQL database, as behind a load
//! balancer: they start (and migrate) at the same time; a session made on one
//! is good on the other; wrong-code and codes-per-hour limits count across
//! both; each email goes out once; the audit log stays one verifiable chain;
//! and the session sweep, run by both at once, ends each session once.

mod support;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::Duration,
};

use portico_core::{
    audit::{self, Action},
    store::{now_ms, Store},
    testing::{migrated_store, ThrowawayPostgres},
    vault::{NormalizedEmail, RootKeyring, Vault},
};
use support::{free_port, wait_for, Portico};

const ORIGIN: &str = "http://localhost";

/// POSTs a form to a server function on `port`, as a browser on the portal's
/// page would; returns the status, the session cookie set (if any) and the body.
fn post(
    port: u16,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    let agent = support::agent();
    let mut req = agent
        .post(format!("http://127.0.0.1:{port}{path}"))
        .header("origin", ORIGIN);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    let mut res = req
        .send_form(form.iter().copied())
        .expect("the portal answers");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| !v.contains("Max-Age=0"))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned);
    (
        res.status().as_u16(),
        cookie,
        res.body_mut().read_to_string().unwrap(),
    )
}

/// Every email either instance wrote, by file name.
fn emails(dirs: &[PathBuf]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("outbox")) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".eml") {
                out.push((
                    name,
                    std::fs::read_to_string(entry.path()).unwrap_or_default(),
                ));
            }
        }
    }
    out
}

/// The six-digit code in a sign-in email.
fn code_in(mail: &str) -> Option<String> {
    mail.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

fn start(db: &str, key_file: &Path, data: &Path, port: u16) -> Portico {
    Portico::serve(&[
        ("PORTICO_LISTEN", format!("127.0.0.1:{port}")),
        ("PORTICO_PUBLIC_URL", ORIGIN.to_owned()),
        ("PORTICO_DATABASE_URL", db.to_owned()),
        ("PORTICO_ROOT_KEY_FILE", key_file.display().to_string()),
        ("PORTICO_DATA_DIR", data.display().to_string()),
    ])
}

async fn count(store: &Store, sql: &str) -> i64 {
    let Store::Postgres(pool) = store else {
        unreachable!("a PostgreSQL test")
    };
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_act_as_one_portal() {
    let pg = ThrowawayPostgres::create().await;
    let db = pg.url().expose().to_owned();
    let dir = tempfile::tempdir().unwrap();
    // One root key for both, made before either starts (as an operator would
    // hand the same secret to every instance).
    RootKeyring::open(dir.path(), None).unwrap();
    let key_file = dir.path().join("master.key");
    let data: Vec<PathBuf> = ["a", "b"].iter().map(|n| dir.path().join(n)).collect();
    let ports = [free_port(), free_port()];

    // Both start at once on the empty database: each migrates or waits.
    let starting: Vec<_> = (0..2)
        .map(|i| {
            let (db, key_file, data) = (db.clone(), key_file.clone(), data[i].clone());
            let port = ports[i];
            std::thread::spawn(move || start(&db, &key_file, &data, port))
        })
        .collect();
    let mut instances: Vec<Portico> = starting.into_iter().map(|t| t.join().unwrap()).collect();
    let store = migrated_store(&pg.url()).await;
    let migrations = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/postgres"
    ))
    .unwrap()
    .count() as i64;
    assert_eq!(
        count(
            &store,
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE success"
        )
        .await,
        migrations,
        "every migration applied once"
    );

    let keyring = RootKeyring::open(dir.path(), Some(&key_file)).unwrap();
    let vault = Vault::load(store.clone(), keyring).await.unwrap();
    let email = NormalizedEmail::parse("ana@example.org").unwrap();
    let ana = vault.identity_for_email(&email).await.unwrap().id;
    let (a, b) = (ports[0], ports[1]);
    let call = move |port: u16,
                     path: &'static str,
                     form: Vec<(&'static str, String)>,
                     cookie: Option<String>| {
        tokio::task::spawn_blocking(move || {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(port, path, &form, cookie.as_deref())
        })
    };
    let codes_sent = || {
        let data = data.clone();
        move || {
            emails(&data)
                .iter()
                .filter_map(|(_, m)| code_in(m))
                .collect::<Vec<_>>()
        }
    };

    // Asked for on A: one email, sent by whichever instance claimed it.
    let (status, cookie, _) = call(
        a,
        "/api/request_code_by_email",
        vec![("email", email.as_str().to_owned())],
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let cookie = cookie.expect("asking for a code makes a session");
    let sent = codes_sent();
    let first = wait_for("the first code", Duration::from_secs(20), || sent().pop());

    // Five wrong tries, alternating instances, kill the code on both.
    for (i, port) in [a, b, a, b, a].into_iter().enumerate() {
        let wrong = if first == "000000" {
            "111111"
        } else {
            "000000"
        };
        let (status, _, body) = call(
            port,
            "/api/submit_code",
            vec![("code", wrong.to_owned())],
            Some(cookie.clone()),
        )
        .await
        .unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("DidNotWork"), "try {i}: {body}");
    }
    let (_, _, body) = call(
        b,
        "/api/submit_code",
        vec![("code", first.clone())],
        Some(cookie.clone()),
    )
    .await
    .unwrap();
    assert!(
        body.contains("DidNotWork"),
        "the code is dead on B too: {body}"
    );

    // A new code asked for on B, entered on B; the session then works on A.
    call(
        b,
        "/api/request_code_by_email",
        vec![("email", email.as_str().to_owned())],
        Some(cookie.clone()),
    )
    .await
    .unwrap();
    let sent = codes_sent();
    let second = wait_for("the second code", Duration::from_secs(20), || {
        let codes = sent();
        (codes.len() == 2).then(|| codes.into_iter().find(|c| *c != first).unwrap_or_default())
    });
    let (_, signed_in, body) = call(
        b,
        "/api/submit_code",
        vec![("code", second)],
        Some(cookie.clone()),
    )
    .await
    .unwrap();
    assert!(body.contains("SignedIn"), "{body}");
    let signed_in = signed_in.expect("signing in renews the session id");
    let (_, _, on_a) = call(a, "/api/current_session", vec![], Some(signed_in.clone()))
        .await
        .unwrap();
    assert!(
        on_a.contains("\"person_kind\":\"patient\""),
        "signed in on A too: {on_a}"
    );
    let (_, _, anonymous) = call(a, "/api/current_session", vec![], None).await.unwrap();
    assert_ne!(on_a, anonymous);

    // Codes per hour (5) count across both instances.
    for port in [a, b, a, b, a] {
        call(
            port,
            "/api/request_code_by_email",
            vec![("email", email.as_str().to_owned())],
            None,
        )
        .await
        .unwrap();
    }
    let store_ref = &store;
    let settled = async move {
        for _ in 0..1000 {
            if count(
                store_ref,
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
            )
            .await
                == 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the outbox did not empty");
    };
    settled.await;
    let queued = count(
        &store,
        "SELECT COUNT(*) FROM outbox WHERE kind = 'sign_in_code'",
    )
    .await;
    assert_eq!(
        queued, 5,
        "five codes an hour, counted across both instances"
    );

    // Each queued email was written once, by one instance or the other.
    let written = emails(&data);
    let names: BTreeSet<&String> = written.iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), written.len(), "no email written twice");
    assert_eq!(written.len() as i64, queued);

    // Both sweeps at once: each expired signed-in session ends once.
    let Store::Postgres(pool) = &store else {
        unreachable!()
    };
    for i in 0..40u8 {
        sqlx::query(
            "INSERT INTO sessions (id_hash, person, data, expires_at) VALUES ($1, $2, '{}', $3)",
        )
        .bind(vec![i; 32])
        .bind(format!("patient:{ana}"))
        .bind(now_ms() - 1)
        .execute(pool)
        .await
        .unwrap();
    }
    // Two more processes' worth of services (own pools, own audit writers)
    // on the same database and key, sweeping at the same moment.
    let mut sweepers = Vec::new();
    for _ in 0..2 {
        let other = migrated_store(&pg.url()).await;
        let keyring = RootKeyring::open(dir.path(), Some(&key_file)).unwrap();
        sweepers.push(portico_server::serve::Services {
            vault: std::sync::Arc::new(Vault::load(other.clone(), keyring).await.unwrap()),
            audit: portico_core::audit::AuditLog::start(other.clone()),
            passkeys: std::sync::Arc::new(
                portico_core::auth::passkeys::Passkeys::new(&url::Url::parse(ORIGIN).unwrap())
                    .unwrap(),
            ),
            passwords: std::sync::Arc::new(portico_core::auth::passwords::Passwords::new()),
            store: other,
        });
    }
    let (one, two) = (sweepers[0].clone(), sweepers[1].clone());
    let (r1, r2) = tokio::join!(one.expire_sessions(), two.expire_sessions());
    r1.unwrap();
    r2.unwrap();
    for services in &sweepers {
        services.audit.shutdown().await;
    }
    let expired = count(
        &store,
        &format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = '{}'",
            Action::SessionExpired.as_str()
        ),
    )
    .await;
    assert_eq!(expired, 40, "each expiry recorded once");

    // Stop both; the chain they wrote to together verifies.
    for instance in &mut instances {
        assert!(instance.terminate(), "stops cleanly");
    }
    let report = audit::verify(&store).await.unwrap();
    assert!(report.broken.is_none(), "{report}");
    assert!(report.events > 10, "{report}");
    pg.drop_now().await;
}
