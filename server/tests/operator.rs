//! The operator's commands as an operator runs them: `portico keys rotate`
//! (also killed midway and run again), `portico identity erase`, `portico audit
//! verify` and `portico audit export`, on a portal's data directory with sealed
//! items. What they print and log, and the database they leave, never show an
//! email address or anything sealed.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use portico_core::{
    audit::{self, Action, Actor, Page},
    store::Store,
    testing::{migrated_store, sqlite_url},
    vault::{KeyOwner, NormalizedEmail, RootKeyring, Vault},
    Error,
};

const EMAIL_MARKER: &str = "marker-email-41c9";
const SUBJECT_MARKER: &str = "MARKER-SUBJECT-41c9";

fn portico(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PORTICO_") {
            cmd.env_remove(key);
        }
    }
    // Everything the commands and the database driver log, statements included.
    cmd.env("PORTICO_DATA_DIR", data)
        .env("PORTICO_LOG", "debug")
        .stdin(Stdio::null());
    cmd
}

fn run(data: &Path, args: &[&str]) -> Output {
    portico(data).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A portal's data directory with `patients` identities, each sent one sealed
/// item; the first patient's address carries the email marker.
struct Portal {
    dir: tempfile::TempDir,
    items: Vec<(String, Vec<u8>, Vec<u8>)>,
}

impl Portal {
    async fn with_patients(patients: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = migrated_store(&sqlite_url(dir.path())).await;
        let vault = Self::vault_on(dir.path(), store.clone()).await;
        let mut items = Vec::new();
        for n in 0..patients {
            let email = NormalizedEmail::parse(&format!("{EMAIL_MARKER}-{n}@example.org")).unwrap();
            let identity = vault.identity_for_email(&email).await.unwrap();
            let plaintext = format!("{SUBJECT_MARKER} result {n}").into_bytes();
            let sealed = vault
                .seal(&plaintext, &[KeyOwner::Identity(identity.id.clone())])
                .await
                .unwrap();
            items.push((identity.id, sealed, plaintext));
        }
        store.close().await;
        Self { dir, items }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    async fn vault_on(data: &Path, store: Store) -> Vault {
        let keyring = RootKeyring::open(data, None).unwrap();
        Vault::load(store, keyring).await.unwrap()
    }

    /// Opens the portal afresh, as a restarted server would.
    async fn open(&self) -> (Store, Vault) {
        let store = migrated_store(&sqlite_url(self.data())).await;
        let vault = Self::vault_on(self.data(), store.clone()).await;
        (store, vault)
    }

    async fn assert_all_open(&self, vault: &Vault, except: Option<&str>) {
        for (identity, sealed, plaintext) in &self.items {
            let opened = vault
                .open(sealed, &KeyOwner::Identity(identity.clone()))
                .await;
            if Some(identity.as_str()) == except {
                assert!(matches!(opened, Err(Error::Erased)), "{identity}");
            } else {
                assert_eq!(&opened.unwrap()[..], &plaintext[..], "{identity}");
            }
        }
    }

    /// The database file and its write-ahead log, as bytes.
    fn database_bytes(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.data().join("portico.db")).unwrap();
        bytes.extend(std::fs::read(self.data().join("portico.db-wal")).unwrap_or_default());
        bytes
    }
}

fn assert_no_marker(what: &str, haystack: &[u8]) {
    let lower = haystack.to_ascii_lowercase();
    for marker in [EMAIL_MARKER, SUBJECT_MARKER] {
        let needle = marker.to_ascii_lowercase().into_bytes();
        assert!(
            !lower.windows(needle.len()).any(|w| w == needle.as_slice()),
            "{marker} found in {what}"
        );
    }
}

async fn rows_under(store: &Store, version: u32) -> i64 {
    let Store::Sqlite(pool) = store else {
        unreachable!()
    };
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM identity_keys WHERE wrapped_secret IS NOT NULL AND root_key_version = $1",
    )
    .bind(i64::from(version))
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_killed_midway_finishes_when_run_again() {
    let portal = Portal::with_patients(300).await;
    let mut logs = Vec::new();

    // Start a rotation of one secret per transaction. Once some have moved,
    // freeze it (SIGSTOP: what it committed stays committed, nothing more can
    // be), check it is unfinished, and kill it (SIGKILL: no chance to tidy up).
    let mut child = portico(portal.data())
        .args(["keys", "rotate", "--batch-size", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let store = migrated_store(&sqlite_url(portal.data())).await;
    let pid = child.id().to_string();
    let signal = |name: &str| {
        let sent = Command::new("kill").args([name, &pid]).status().unwrap();
        assert!(sent.success(), "kill {name}");
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while rows_under(&store, 2).await == 0 {
        assert!(Instant::now() < deadline, "the rotation made no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the rotation stopped early"
        );
    }
    signal("-STOP");
    let (moved, left) = (rows_under(&store, 2).await, rows_under(&store, 1).await);
    signal("-KILL");
    assert!(
        moved >= 1 && left > 0,
        "frozen part-way: {moved} moved, {left} left"
    );
    let killed = child.wait_with_output().unwrap();
    logs.extend(killed.stdout.iter().chain(&killed.stderr));
    assert!(!killed.status.success());
    store.close().await;

    // A server started now opens every item, moved or not.
    let (store, vault) = portal.open().await;
    assert_eq!(rows_under(&store, 2).await, moved);
    portal.assert_all_open(&vault, None).await;
    store.close().await;

    // Run again: it finishes the same version and retires version 1.
    let rerun = run(portal.data(), &["keys", "rotate"]);
    logs.extend(rerun.stdout.iter().chain(&rerun.stderr));
    assert!(rerun.status.success(), "{}", text(&rerun));
    let said = String::from_utf8_lossy(&rerun.stdout);
    assert!(said.contains("root key version 2"), "{said}");
    assert!(said.contains("finished an earlier rotation"), "{said}");
    assert!(said.contains("retired version(s) [1]"), "{said}");
    assert!(
        !portal.data().join("master.key").exists(),
        "version 1 is gone"
    );
    assert!(portal.data().join("master.key.v2").exists());

    let (store, vault) = portal.open().await;
    assert_eq!(rows_under(&store, 1).await, 0);
    portal.assert_all_open(&vault, None).await;
    // Both runs are in the audit log; the killed one may not be, as it died.
    let events = audit::events_by(&store, &Actor::system("cli"), Page::newest(10))
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.event.action == Action::KeysRotated));
    store.close().await;

    assert_no_marker("the commands' output and logs", &logs);
    assert_no_marker("the database", &portal.database_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_shreds_one_identity_and_verify_and_export_report_it() {
    let portal = Portal::with_patients(3).await;
    let erased_id = portal.items[0].0.clone();
    let mut logs = Vec::new();

    // The address is matched as the portal normalizes it.
    let address = format!("  {}-0@EXAMPLE.org ", EMAIL_MARKER.to_uppercase());
    let erase = run(portal.data(), &["identity", "erase", &address]);
    logs.extend(erase.stdout.iter().chain(&erase.stderr));
    assert!(erase.status.success(), "{}", text(&erase));
    assert!(
        String::from_utf8_lossy(&erase.stdout).contains(&erased_id),
        "the report names the identity by id: {}",
        text(&erase)
    );
    let again = run(portal.data(), &["identity", "erase", &address]);
    assert!(again.status.success());
    assert!(text(&again).contains("already erased"), "{}", text(&again));
    logs.extend(again.stdout.iter().chain(&again.stderr));

    let unknown = run(portal.data(), &["identity", "erase", "nobody@example.org"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown).contains("no identity has that email address"));
    let bad = run(portal.data(), &["identity", "erase", "not an address"]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("email"), "{}", text(&bad));
    assert!(
        !text(&bad).contains("not an address"),
        "input is not echoed"
    );

    let (store, vault) = portal.open().await;
    portal.assert_all_open(&vault, Some(&erased_id)).await;
    let about = audit::events_about(&store, &erased_id, Page::newest(10))
        .await
        .unwrap();
    assert_eq!(
        about
            .iter()
            .filter(|e| e.event.action == Action::IdentityErased)
            .count(),
        2,
        "both runs are recorded against the identity"
    );
    store.close().await;

    // verify: intact, exit 0.
    let verify = run(portal.data(), &["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("audit chain intact"));
    logs.extend(verify.stdout.iter().chain(&verify.stderr));

    // export: exactly the events, in both formats, stdout holding only them.
    let export = |format: &str| {
        run(
            portal.data(),
            &[
                "audit",
                "export",
                "--since",
                "2000-01-01",
                "--until",
                "2100-01-01",
                "--format",
                format,
            ],
        )
    };
    let jsonl = export("jsonl");
    assert!(jsonl.status.success(), "{}", text(&jsonl));
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is an event"))
        .collect();
    // Two erasures, one verification, this export.
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "identity_erased",
            "identity_erased",
            "audit_verified",
            "audit_exported"
        ]
    );
    let csv = export("csv");
    assert!(csv.status.success());
    let csv_text = String::from_utf8(csv.stdout.clone()).unwrap();
    assert_eq!(csv_text.lines().count(), 1 + 5, "a header, then each event");
    assert!(csv_text.starts_with("seq,"), "{csv_text}");
    logs.extend(jsonl.stdout.iter().chain(&jsonl.stderr));
    logs.extend(csv.stdout.iter().chain(&csv.stderr));

    let backwards = run(
        portal.data(),
        &[
            "audit",
            "export",
            "--since",
            "2026-12-01",
            "--until",
            "2026-11-01",
        ],
    );
    assert!(!backwards.status.success());
    assert!(text(&backwards).contains("until"), "{}", text(&backwards));
    let garbled = run(
        portal.data(),
        &[
            "audit",
            "export",
            "--since",
            "last week",
            "--until",
            "2026-11-01",
        ],
    );
    assert_eq!(garbled.status.code(), Some(2), "a usage error");
    assert!(text(&garbled).contains("--since"), "{}", text(&garbled));

    assert_no_marker("the commands' output and logs", &logs);
    assert_no_marker("the database", &portal.database_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_names_a_row_changed_in_a_copy_of_the_database() {
    let portal = Portal::with_patients(1).await;
    for _ in 0..3 {
        assert!(run(portal.data(), &["audit", "verify"]).status.success());
    }
    // The copy: every page checkpointed into the file, then copied with its key.
    let copy = tempfile::tempdir().unwrap();
    for file in ["portico.db", "master.key"] {
        std::fs::copy(portal.data().join(file), copy.path().join(file)).unwrap();
    }
    let Store::Sqlite(pool) = migrated_store(&sqlite_url(copy.path())).await else {
        unreachable!()
    };
    // Behind the triggers' back: drop the one in the way, change a row.
    for sql in [
        "DROP TRIGGER audit_events_no_update",
        "UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 2",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let verify = run(copy.path(), &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(1), "{}", text(&verify));
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(said.contains("BROKEN at seq 2"), "{said}");
    // The original is untouched and still verifies.
    assert!(run(portal.data(), &["audit", "verify"]).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_add_prints_a_one_time_enrollment_link() {
    use portico_core::{
        auth::{
            passwords::Passwords,
            staff::{StaffAccounts, Throttle},
        },
        store::OrganizationKind,
    };
    let portal = Portal::with_patients(0).await;
    let (store, _) = portal.open().await;
    let org = store
        .organizations()
        .create(OrganizationKind::Provider, "Riverside Clinic")
        .await
        .unwrap();
    store.close().await;

    let address = format!("{EMAIL_MARKER}-staff@riverside.example");
    let unknown_org = run(
        portal.data(),
        &[
            "staff",
            "add",
            "--org",
            "no-such-org",
            "--email",
            &address,
            "--name",
            "Nurse Joy",
            "--role",
            "clinician",
        ],
    );
    assert_eq!(unknown_org.status.code(), Some(1), "{}", text(&unknown_org));
    let bad_role = run(
        portal.data(),
        &[
            "staff",
            "add",
            "--org",
            &org.id,
            "--email",
            &address,
            "--name",
            "Nurse Joy",
            "--role",
            "owner",
        ],
    );
    assert!(
        text(&bad_role).contains("admin, clinician, staff or billing"),
        "{}",
        text(&bad_role)
    );

    let added = run(
        portal.data(),
        &[
            "staff",
            "add",
            "--org",
            &org.id,
            "--email",
            &address,
            "--name",
            "Nurse Joy",
            "--role",
            "clinician",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    let said = String::from_utf8(added.stdout.clone()).unwrap();
    let link = said
        .lines()
        .find(|l| l.starts_with("http://localhost:3000/enroll/"))
        .unwrap_or_else(|| panic!("no link in {said}"));
    let token = link.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 43);
    assert_no_marker("the output", &[added.stdout, added.stderr].concat());

    // The link sets a password once.
    let (store, vault) = portal.open().await;
    let audit = portico_core::audit::AuditLog::start(store.clone());
    let passwords = Passwords::new();
    let accounts = StaffAccounts {
        store: &store,
        vault: &vault,
        audit: &audit,
        passwords: &passwords,
        throttle: Throttle::default(),
    };
    let password = || secrecy::SecretString::from("a long enough passphrase".to_owned());
    assert!(accounts.enroll(token, password()).await.is_ok());
    assert!(accounts.enroll(token, password()).await.is_err());
}
