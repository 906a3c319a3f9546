//! The vault on SQLite and on PostgreSQL alike: items open for their owners and
//! no one else, survive rotation (finished, or stopped midway and rerun), and stop
//! opening for an erased owner only; nothing planted in plaintext reaches the
//! database files.

use std::{
    io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use portico_core::{
    store::{OrganizationKind, Store},
    testing::{self, exec, migrated_store, sqlite_url, ThrowawayPostgres},
    vault::{
        measure, KeyOwner, KeyState, NormalizedEmail, RootKeyring, RotateOptions, Vault,
        ROOT_KEY_FILE,
    },
    Error,
};
use proptest::{prelude::*, sample::subsequence, test_runner::TestRunner};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A vault on a throwaway database, with its key files in a directory of its own.
struct Env {
    store: Store,
    vault: Vault,
    keys: tempfile::TempDir,
    /// The SQLite database directory, when on SQLite.
    db_dir: Option<tempfile::TempDir>,
    postgres: Option<ThrowawayPostgres>,
}

impl Env {
    async fn sqlite() -> Self {
        let db_dir = tempfile::tempdir().unwrap();
        let store = migrated_store(&sqlite_url(db_dir.path())).await;
        Self::with_store(store, Some(db_dir), None).await
    }

    async fn postgres() -> Self {
        let pg = ThrowawayPostgres::create().await;
        let store = migrated_store(&pg.url()).await;
        Self::with_store(store, None, Some(pg)).await
    }

    async fn with_store(
        store: Store,
        db_dir: Option<tempfile::TempDir>,
        postgres: Option<ThrowawayPostgres>,
    ) -> Self {
        let keys = tempfile::tempdir().unwrap();
        let ring = RootKeyring::open(keys.path(), None).unwrap();
        let vault = Vault::load(store.clone(), ring).await.unwrap();
        Self {
            store,
            vault,
            keys,
            db_dir,
            postgres,
        }
    }

    fn key_file(&self, version: u32) -> PathBuf {
        let base = self.keys.path().join(ROOT_KEY_FILE);
        if version == 1 {
            base
        } else {
            PathBuf::from(format!("{}.v{version}", base.display()))
        }
    }

    /// Another process on the same database and key files, as after a restart.
    async fn restart(&self) -> Vault {
        let ring = RootKeyring::open(self.keys.path(), None).unwrap();
        Vault::load(self.store.clone(), ring).await.unwrap()
    }
}

/// Runs one scenario as two tests, one per backend.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(super::Env::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(super::Env::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(
    only_the_owners_open_an_item,
    a_wrapped_key_moved_to_another_row_does_not_open,
    items_open_after_rotation,
    a_rotation_stopped_midway_finishes_when_run_again,
    a_rotation_killed_after_writing_its_key_file_resumes,
    keys_made_during_a_rotation_are_never_left_behind,
    erasure_shreds_one_owner_only,
    addresses_are_found_by_digest_and_kept_sealed,
    many_addresses_at_once_match_one_at_a_time,
    racing_creators_end_with_one_key,
    attachments_stream_in_chunks,
    load_refuses_missing_or_wrong_key_files,
    no_marker_reaches_the_database,
);

fn identity(id: &str) -> KeyOwner {
    KeyOwner::Identity(id.to_owned())
}

fn mailbox(id: &str) -> KeyOwner {
    KeyOwner::Mailbox(id.to_owned())
}

async fn count(store: &Store, sql: &str) -> i64 {
    testing::count(store, sql, &[]).await
}

fn is_crypto(result: &Result<impl std::fmt::Debug, Error>) -> bool {
    matches!(result, Err(Error::Crypto(_)))
}

async fn only_the_owners_open_an_item(env: Env) {
    let v = &env.vault;
    let (ana, ben, clinic) = (identity("ana"), identity("ben"), mailbox("clinic"));
    let item = v
        .seal(
            b"Your lab results are ready.",
            &[ana.clone(), clinic.clone()],
        )
        .await
        .unwrap();
    assert_eq!(
        &v.open(&item, &ana).await.unwrap()[..],
        b"Your lab results are ready."
    );
    assert_eq!(
        &v.open(&item, &clinic).await.unwrap()[..],
        b"Your lab results are ready."
    );

    // Ben has a key of his own, but the item is not sealed to it.
    let for_ben = v
        .seal(b"hello Ben", std::slice::from_ref(&ben))
        .await
        .unwrap();
    assert!(is_crypto(&v.open(&item, &ben).await));
    assert!(is_crypto(&v.open(&for_ben, &ana).await));
    // Someone who never had a key cannot open it either.
    assert!(is_crypto(&v.open(&item, &identity("nobody")).await));
    // A mailbox and an identity with the same id are different owners.
    assert!(is_crypto(&v.open(&item, &identity("clinic")).await));

    // One flipped byte anywhere (header, MAC, nonce, body, tag) and it does not open.
    for at in [0, 30, item.len() / 2, item.len() - 40, item.len() - 1] {
        let mut damaged = item.clone();
        damaged[at] ^= 0x01;
        assert!(
            is_crypto(&v.open(&damaged, &ana).await),
            "flipped byte {at}"
        );
    }
    assert!(is_crypto(&v.open(&item[..item.len() - 1], &ana).await));
    assert!(is_crypto(&v.open(b"not an age file", &ana).await));

    // Duplicates are sealed once; an empty list is refused.
    let twice = v.seal(b"x", &[ana.clone(), ana.clone()]).await.unwrap();
    assert_eq!(&v.open(&twice, &ana).await.unwrap()[..], b"x");
    assert!(matches!(
        v.seal(b"x", &[]).await,
        Err(Error::Invalid {
            field: "recipients",
            ..
        })
    ));

    // A large item (sealed and opened off the async workers) round-trips too.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    let sealed = v.seal(&big, std::slice::from_ref(&clinic)).await.unwrap();
    assert_eq!(&v.open(&sealed, &clinic).await.unwrap()[..], &big[..]);

    // The unwrapped key never shows its secret.
    let key = v.reader_key(&ana).await.unwrap();
    let debug = format!("{key:?} {:?}", env.vault);
    assert!(!debug.to_uppercase().contains("AGE-SECRET-KEY"), "{debug}");
    assert_eq!(key.owner(), &ana);
}

async fn a_wrapped_key_moved_to_another_row_does_not_open(env: Env) {
    let v = &env.vault;
    let (ana, ben) = (identity("ana"), identity("ben"));
    let for_ana = v
        .seal(b"for Ana", std::slice::from_ref(&ana))
        .await
        .unwrap();
    v.seal(b"for Ben", std::slice::from_ref(&ben))
        .await
        .unwrap();
    v.seal(b"for the mailbox named ana", &[mailbox("ana")])
        .await
        .unwrap();

    // Someone with database access copies Ana's wrapped key onto Ben's row...
    let copied = exec(
        &env.store,
        "UPDATE identity_keys SET wrapped_secret = \
         (SELECT wrapped_secret FROM identity_keys WHERE owner_kind = 'identity' AND owner_id = $1) \
         WHERE owner_kind = 'identity' AND owner_id = $2",
        &["ana", "ben"],
    )
    .await;
    assert_eq!(copied, 1);
    // ...and onto the mailbox row with the same id: neither opens.
    exec(
        &env.store,
        "UPDATE identity_keys SET wrapped_secret = \
         (SELECT wrapped_secret FROM identity_keys WHERE owner_kind = 'identity' AND owner_id = $1) \
         WHERE owner_kind = 'mailbox' AND owner_id = $1",
        &["ana"],
    )
    .await;
    assert!(is_crypto(&v.reader_key(&ben).await));
    assert!(is_crypto(&v.open(&for_ana, &ben).await));
    assert!(is_crypto(&v.reader_key(&mailbox("ana")).await));
    // Relabelling the row's root key version does not help either.
    exec(
        &env.store,
        "UPDATE identity_keys SET root_key_version = 2 WHERE owner_kind = 'identity' AND owner_id = $1",
        &["ana"],
    )
    .await;
    assert!(matches!(
        v.open(&for_ana, &ana).await,
        Err(Error::RootKey { .. })
    ));
    exec(
        &env.store,
        "UPDATE identity_keys SET root_key_version = 1 WHERE owner_kind = 'identity' AND owner_id = $1",
        &["ana"],
    )
    .await;
    assert_eq!(&v.open(&for_ana, &ana).await.unwrap()[..], b"for Ana");
}

/// Seals items to several owners; returns (item, plaintext, owners able to open it).
async fn seal_many(v: &Vault, n: usize) -> Vec<(Vec<u8>, Vec<u8>, Vec<KeyOwner>)> {
    let mut items = Vec::new();
    for i in 0..n {
        let owners = vec![
            identity(&format!("patient-{}", i % 9)),
            mailbox(&format!("dept-{}", i % 4)),
        ];
        let text = format!("message {i}: your appointment is confirmed").into_bytes();
        let sealed = v.seal(&text, &owners).await.unwrap();
        items.push((sealed, text, owners));
    }
    items
}

async fn assert_all_open(v: &Vault, items: &[(Vec<u8>, Vec<u8>, Vec<KeyOwner>)]) {
    for (sealed, text, owners) in items {
        for owner in owners {
            assert_eq!(
                &v.open(sealed, owner).await.unwrap()[..],
                &text[..],
                "{owner:?}"
            );
        }
    }
}

async fn rows_under(store: &Store, version: u32) -> i64 {
    count(
        store,
        &format!(
            "SELECT COUNT(*) FROM identity_keys WHERE wrapped_secret IS NOT NULL AND root_key_version = {version}"
        ),
    )
    .await
}

async fn items_open_after_rotation(env: Env) {
    let v = &env.vault;
    let email = NormalizedEmail::parse("Ana.Lopez@Clinic.example").unwrap();
    let ana = v.identity_for_email(&email).await.unwrap();
    let digest = v.email_digest(&email);
    let items = seal_many(v, 24).await;
    let old_item = v
        .seal(b"sealed before", &[KeyOwner::Identity(ana.id.clone())])
        .await
        .unwrap();

    let report = v.rotate(RotateOptions::default()).await.unwrap();
    assert_eq!(report.version, 2);
    assert!(!report.resumed && report.finished);
    assert_eq!(
        report.rewrapped,
        9 + 4 + 1 + 2,
        "identity keys and the two vault keys"
    );
    assert_eq!(report.retired, vec![1]);
    assert!(!env.key_file(1).exists(), "version 1 is retired");
    assert!(env.key_file(2).exists());
    assert_eq!(rows_under(&env.store, 1).await, 0);

    assert_all_open(v, &items).await;
    assert_eq!(
        &v.open(&old_item, &KeyOwner::Identity(ana.id.clone()))
            .await
            .unwrap()[..],
        b"sealed before"
    );
    // Digests (the lookup key) and sealed addresses survive rotation.
    assert_eq!(v.email_digest(&email), digest);
    assert_eq!(v.identity_for_email(&email).await.unwrap().id, ana.id);
    assert_eq!(v.email_of(&ana.id).await.unwrap(), email);

    // A restarted portal reads the new version from disk and opens everything.
    let restarted = env.restart().await;
    assert_eq!(restarted.root_key_versions(), vec![2]);
    assert_all_open(&restarted, &items).await;
    assert_eq!(restarted.email_digest(&email), digest);

    // And rotating again moves on to version 3.
    let again = restarted.rotate(RotateOptions::default()).await.unwrap();
    assert_eq!((again.version, again.retired.clone()), (3, vec![2]));
    assert_all_open(&restarted, &items).await;
    // The first process has not seen version 3 yet: it finds the file on its own.
    assert_all_open(v, &items).await;
    assert_eq!(v.email_of(&ana.id).await.unwrap(), email);
}

async fn a_rotation_stopped_midway_finishes_when_run_again(env: Env) {
    let v = &env.vault;
    let items = seal_many(v, 30).await; // 9 patients + 4 departments = 13 keys
    let paused = v
        .rotate(RotateOptions {
            batch_size: 5,
            max_batches: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(paused.version, 2);
    assert!(!paused.finished);
    assert_eq!(paused.batches, 1);
    assert!(paused.retired.is_empty());
    assert_eq!(rows_under(&env.store, 2).await, 5);
    assert_eq!(rows_under(&env.store, 1).await, 8);
    assert!(env.key_file(1).exists(), "still in use: kept");
    assert!(env.key_file(2).exists());

    // Killed here: a restarted portal opens everything, old and new rows alike,
    // and wraps new keys under the new version.
    let restarted = env.restart().await;
    assert_all_open(&restarted, &items).await;
    restarted
        .seal(b"new", &[identity("newcomer")])
        .await
        .unwrap();
    assert_eq!(
        restarted.key_state(&identity("newcomer")).await.unwrap(),
        KeyState::Active {
            root_key_version: 2
        }
    );
    // An erasure while paused is not undone by the rest of the rotation.
    assert!(restarted.erase(&identity("patient-8")).await.unwrap());

    // A second stop, then the run that finishes; none starts a version 3.
    let second = restarted
        .rotate(RotateOptions {
            batch_size: 5,
            max_batches: Some(1),
        })
        .await
        .unwrap();
    assert!(second.resumed && !second.finished && second.version == 2);
    assert!(env.key_file(1).exists());
    let last = restarted.rotate(RotateOptions::default()).await.unwrap();
    assert!(last.resumed && last.finished);
    assert_eq!(last.version, 2);
    assert_eq!(last.retired, vec![1]);
    assert!(!env.key_file(1).exists());
    assert!(!env.key_file(3).exists());
    assert_eq!(rows_under(&env.store, 1).await, 0);

    for (sealed, text, owners) in &items {
        for owner in owners {
            let opened = restarted.open(sealed, owner).await;
            if owner == &identity("patient-8") {
                assert!(matches!(opened, Err(Error::Erased)));
            } else {
                assert_eq!(&opened.unwrap()[..], &text[..]);
            }
        }
    }
    assert_all_open(v, &items[..8]).await;
}

async fn a_rotation_killed_after_writing_its_key_file_resumes(env: Env) {
    use std::os::unix::fs::OpenOptionsExt;
    let v = &env.vault;
    let items = seal_many(v, 6).await;
    // The new version's file is on disk, but no row moved and the database was
    // never told: the next run must use this version, not make a version 3.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(env.key_file(2))
        .unwrap();
    io::Write::write_all(&mut file, &[0x5a; 32]).unwrap();
    drop(file);
    let report = v.rotate(RotateOptions::default()).await.unwrap();
    assert!(report.resumed && report.finished);
    assert_eq!((report.version, report.retired.clone()), (2, vec![1]));
    assert!(!env.key_file(3).exists());
    assert_all_open(v, &items).await;
    assert_all_open(&env.restart().await, &items).await;
}

/// A portal instance keeps making keys (with its stale idea of the active version)
/// while another process rotates: once the rotation is done, no key is left under
/// the retired version, and everything opens.
async fn keys_made_during_a_rotation_are_never_left_behind(env: Env) {
    let items = seal_many(&env.vault, 10).await;
    let portal = Arc::new(env.restart().await);
    let making = {
        let portal = Arc::clone(&portal);
        tokio::spawn(async move {
            let mut made = Vec::new();
            for i in 0..40 {
                let owner = identity(&format!("walk-in-{i}"));
                let text = format!("welcome {i}").into_bytes();
                made.push((
                    portal
                        .seal(&text, std::slice::from_ref(&owner))
                        .await
                        .unwrap(),
                    text,
                    vec![owner],
                ));
                tokio::task::yield_now().await;
            }
            made
        })
    };
    let report = env
        .vault
        .rotate(RotateOptions {
            batch_size: 3,
            max_batches: None,
        })
        .await
        .unwrap();
    let made = making.await.unwrap();
    assert_eq!(report.version, 2);
    // Whatever the interleaving: either version 1 is retired and nothing is under it,
    // or a key made late kept it in use and a rerun finishes the job.
    if !report.retired.contains(&1) {
        let rerun = env.vault.rotate(RotateOptions::default()).await.unwrap();
        assert_eq!((rerun.version, rerun.retired), (2, vec![1]));
    }
    assert_eq!(rows_under(&env.store, 1).await, 0);
    assert!(!env.key_file(1).exists());
    let restarted = env.restart().await;
    assert_all_open(&restarted, &items).await;
    assert_all_open(&restarted, &made).await;
    assert_all_open(&portal, &made).await;
}

async fn erasure_shreds_one_owner_only(env: Env) {
    let v = &env.vault;
    let (ana, ben, clinic) = (identity("ana"), identity("ben"), mailbox("clinic"));
    let ana_and_clinic = v
        .seal(b"Ana's visit summary", &[ana.clone(), clinic.clone()])
        .await
        .unwrap();
    let ana_only = v
        .seal(b"Ana's note", std::slice::from_ref(&ana))
        .await
        .unwrap();
    let ben_and_clinic = v
        .seal(b"Ben's visit summary", &[ben.clone(), clinic.clone()])
        .await
        .unwrap();

    // Another portal instance that sealed to Ana before (its public key is cached).
    let other = env.restart().await;
    other.public_key(&ana).await.unwrap();

    assert!(v.erase(&ana).await.unwrap());
    assert!(!v.erase(&ana).await.unwrap(), "already erased");
    assert!(matches!(
        v.open(&ana_and_clinic, &ana).await,
        Err(Error::Erased)
    ));
    assert!(matches!(v.open(&ana_only, &ana).await, Err(Error::Erased)));
    assert_eq!(Error::Erased.to_string(), "this content was erased");
    assert!(matches!(
        v.key_state(&ana).await.unwrap(),
        KeyState::Erased { .. }
    ));

    // Everyone else still reads their items.
    assert_eq!(
        &v.open(&ana_and_clinic, &clinic).await.unwrap()[..],
        b"Ana's visit summary"
    );
    assert_eq!(
        &v.open(&ben_and_clinic, &ben).await.unwrap()[..],
        b"Ben's visit summary"
    );
    assert_eq!(
        &v.open(&ben_and_clinic, &clinic).await.unwrap()[..],
        b"Ben's visit summary"
    );

    // That instance may still seal to Ana's old public key until its cache forgets
    // it, but Ana can never open it (her secret is gone) and the clinic still can.
    if let Ok(late) = other.seal(b"late", &[ana.clone(), clinic.clone()]).await {
        assert!(matches!(other.open(&late, &ana).await, Err(Error::Erased)));
        assert_eq!(&other.open(&late, &clinic).await.unwrap()[..], b"late");
    }

    // Nothing new is sealed to an erased owner, and no new key is made for them.
    assert!(matches!(
        v.seal(b"x", &[clinic.clone(), ana.clone()]).await,
        Err(Error::Erased)
    ));
    assert_eq!(
        count(
            &env.store,
            "SELECT COUNT(*) FROM identity_keys WHERE owner_id = 'ana' AND \
             (wrapped_secret IS NOT NULL OR public_key IS NOT NULL)"
        )
        .await,
        0
    );
    // An owner erased before anything was sealed to them stays without a key.
    assert!(v.erase(&identity("never-written-to")).await.unwrap());
    assert!(matches!(
        v.seal(b"x", &[identity("never-written-to")]).await,
        Err(Error::Erased)
    ));
    // Rotation passes over erased owners and resurrects nothing.
    v.rotate(RotateOptions::default()).await.unwrap();
    assert!(matches!(v.open(&ana_only, &ana).await, Err(Error::Erased)));
    assert_eq!(
        &v.open(&ben_and_clinic, &ben).await.unwrap()[..],
        b"Ben's visit summary"
    );
}

async fn addresses_are_found_by_digest_and_kept_sealed(env: Env) {
    let v = &env.vault;
    let typed = NormalizedEmail::parse("  Ana.Lopez@Bücher.Example ").unwrap();
    let again = NormalizedEmail::parse("ana.lopez@xn--bcher-kva.example").unwrap();
    assert!(
        v.find_identity(&typed).await.unwrap().is_none(),
        "looking makes nothing"
    );
    let ana = v.identity_for_email(&typed).await.unwrap();
    assert_eq!(v.identity_for_email(&again).await.unwrap().id, ana.id);
    assert_eq!(v.find_identity(&again).await.unwrap().unwrap().id, ana.id);
    assert_eq!(ana.email_digest, v.email_digest(&typed).to_vec());
    assert_eq!(
        v.email_of(&ana.id).await.unwrap().as_str(),
        "ana.lopez@xn--bcher-kva.example"
    );
    assert!(matches!(
        v.email_of("no-such-identity").await,
        Err(Error::NotFound)
    ));

    // The digest is keyed: not a plain SHA-256 of the address, and the same after restart.
    let restarted = env.restart().await;
    assert_eq!(restarted.email_digest(&typed), v.email_digest(&typed));

    // A sealed address copied onto another identity does not open there.
    let ben = v
        .identity_for_email(&NormalizedEmail::parse("ben@example.org").unwrap())
        .await
        .unwrap();
    exec(
        &env.store,
        "UPDATE identities SET email_sealed = (SELECT email_sealed FROM identities WHERE id = $1) WHERE id = $2",
        &[&ana.id, &ben.id],
    )
    .await;
    assert!(is_crypto(&v.email_of(&ben.id).await));
}

async fn many_addresses_at_once_match_one_at_a_time(env: Env) {
    let v = &env.vault;
    let known = NormalizedEmail::parse("known@example.org").unwrap();
    let known_id = v.identity_for_email(&known).await.unwrap().id;
    // More than one lookup chunk (64), one address known before, one twice.
    let mut emails: Vec<NormalizedEmail> = (0..70)
        .map(|i| NormalizedEmail::parse(&format!("member{i}@example.org")).unwrap())
        .collect();
    emails.push(known.clone());
    emails.push(emails[3].clone());
    let found = v.identities_for_emails(&emails).await.unwrap();
    assert_eq!(found.len(), 71);
    assert_eq!(
        found[known.as_str()],
        known_id,
        "a known address keeps its identity"
    );

    // Another process sees the same identities and can open what is sealed to them.
    let restarted = env.restart().await;
    for email in &emails {
        let id = &found[email.as_str()];
        assert_eq!(&restarted.identity_for_email(email).await.unwrap().id, id);
        assert_eq!(
            restarted.email_of(id).await.unwrap().as_str(),
            email.as_str()
        );
        let owner = KeyOwner::Identity(id.clone());
        let sealed = v
            .seal(b"for this member only", std::slice::from_ref(&owner))
            .await
            .unwrap();
        assert_eq!(
            restarted.open(&sealed, &owner).await.unwrap().as_slice(),
            b"for this member only"
        );
    }
    // Asking again makes nothing new.
    let again = v.identities_for_emails(&emails).await.unwrap();
    assert_eq!(again, found);
}

async fn racing_creators_end_with_one_key(env: Env) {
    let vault = Arc::new(env.restart().await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let vault = Arc::clone(&vault);
        tasks.push(tokio::spawn(async move {
            vault
                .public_key(&identity("shared"))
                .await
                .unwrap()
                .to_string()
        }));
    }
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap());
    }
    keys.dedup();
    assert_eq!(keys.len(), 1, "every creator got the same key");
    assert_eq!(
        count(
            &env.store,
            "SELECT COUNT(*) FROM identity_keys WHERE owner_id = 'shared'"
        )
        .await,
        1
    );

    // Two portals starting at once on a database without vault keys yet share one
    // lookup key, so they compute the same digests.
    exec(&env.store, "DELETE FROM vault_keys", &[]).await;
    let (a, b) = tokio::join!(env.restart(), env.restart());
    let email = NormalizedEmail::parse("x@example.org").unwrap();
    assert_eq!(a.email_digest(&email), b.email_digest(&email));
    assert_eq!(
        count(&env.store, "SELECT COUNT(*) FROM vault_keys").await,
        2
    );

    // Two first starts at once on an empty data directory end with one root key.
    let dir = tempfile::tempdir().unwrap();
    let rings: Vec<_> = (0..4)
        .map(|_| {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || RootKeyring::open(&dir, None).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let on_disk = RootKeyring::open(dir.path(), None).unwrap();
    let owner = identity("probe");
    let wrapped = measure::wrapped_identity_key(&on_disk, &owner).unwrap();
    for ring in rings {
        assert_eq!(ring.versions(), vec![1]);
        // Same key bytes: what one wraps, the other unwraps.
        measure::unwrap_identity_key(&ring, &owner, &wrapped).unwrap();
    }
}

/// An endless-looking source of `len` bytes, made as it is read.
struct Generated {
    len: u64,
    pos: u64,
    largest_read: usize,
}

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.len - self.pos) as usize;
        self.largest_read = self.largest_read.max(n);
        let start = self.pos;
        let bytes: Vec<u8> = (0..n as u64).map(|i| byte_at(start + i)).collect();
        buf.put_slice(&bytes);
        self.pos += n as u64;
        Poll::Ready(Ok(()))
    }
}

/// Checks what is written against the generator without keeping it.
#[derive(Default)]
struct Checking {
    pos: u64,
    largest_write: usize,
    mismatch: bool,
}

impl AsyncWrite for Checking {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.largest_write = self.largest_write.max(buf.len());
        for (i, b) in buf.iter().enumerate() {
            if *b != byte_at(self.pos + i as u64) {
                self.mismatch = true;
            }
        }
        self.pos += buf.len() as u64;
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A writer that keeps only the largest single write it was handed.
#[derive(Default)]
struct Measuring {
    total: u64,
    largest_write: usize,
    inner: Vec<u8>,
    keep: bool,
}

impl AsyncWrite for Measuring {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.largest_write = self.largest_write.max(buf.len());
        self.total += buf.len() as u64;
        if self.keep {
            self.inner.extend_from_slice(buf);
        }
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

struct Failing;

impl AsyncRead for Failing {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "upload cut off",
        )))
    }
}

async fn attachments_stream_in_chunks(env: Env) {
    const LEN: u64 = 8 * 1024 * 1024 + 12_345;
    let v = &env.vault;
    let (ana, clinic) = (identity("ana"), mailbox("clinic"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attachment.age");

    let mut source = Generated {
        len: LEN,
        pos: 0,
        largest_read: 0,
    };
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    let n = v
        .seal_stream(&mut source, &mut file, &[ana.clone(), clinic.clone()])
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::flush(&mut file).await.unwrap();
    drop(file);
    assert_eq!(n, LEN);
    assert!(
        source.largest_read <= 64 * 1024,
        "read in chunks: {}",
        source.largest_read
    );
    let sealed_len = std::fs::metadata(&path).unwrap().len();
    assert!(sealed_len > LEN && sealed_len < LEN + LEN / 100);

    for owner in [&ana, &clinic] {
        let mut sink = Checking::default();
        let file = tokio::fs::File::open(&path).await.unwrap();
        assert_eq!(v.open_stream(file, &mut sink, owner).await.unwrap(), LEN);
        assert_eq!(sink.pos, LEN);
        assert!(!sink.mismatch);
        assert!(
            sink.largest_write <= 64 * 1024,
            "written in chunks: {}",
            sink.largest_write
        );
    }

    // Sealing into memory, so the item can be damaged: a stream item opens in memory
    // too, and a damaged or cut-off one fails as a crypto error, not as I/O.
    let mut small = Measuring {
        keep: true,
        ..Default::default()
    };
    let mut source = Generated {
        len: 200_000,
        pos: 0,
        largest_read: 0,
    };
    v.seal_stream(&mut source, &mut small, std::slice::from_ref(&ana))
        .await
        .unwrap();
    let item = small.inner;
    assert_eq!(v.open(&item, &ana).await.unwrap().len(), 200_000);
    for damaged in [
        {
            let mut d = item.clone();
            d[item.len() / 2] ^= 0x80;
            d
        },
        item[..item.len() - 100].to_vec(),
        item[..70_000].to_vec(),
    ] {
        let mut out = Measuring::default();
        let result = v.open_stream(&damaged[..], &mut out, &ana).await;
        assert!(is_crypto(&result), "{result:?}");
    }
    // The caller's failing reader is reported as I/O.
    let result = v
        .seal_stream(
            Failing,
            &mut Measuring::default(),
            std::slice::from_ref(&ana),
        )
        .await;
    assert!(matches!(result, Err(Error::Io { .. })), "{result:?}");
    let result = v
        .open_stream(Failing, &mut Measuring::default(), &ana)
        .await;
    assert!(matches!(result, Err(Error::Io { .. })), "{result:?}");
    // Not for this reader, and erased.
    let result = v
        .open_stream(&item[..], &mut Measuring::default(), &clinic)
        .await;
    assert!(is_crypto(&result));
    v.erase(&ana).await.unwrap();
    let result = v
        .open_stream(&item[..], &mut Measuring::default(), &ana)
        .await;
    assert!(matches!(result, Err(Error::Erased)));
}

async fn load_refuses_missing_or_wrong_key_files(env: Env) {
    let items = seal_many(&env.vault, 3).await;
    env.vault.rotate(RotateOptions::default()).await.unwrap();
    drop(items);
    // Version 2's file is lost and a new master.key appears: refused, naming v2.
    let v2 = std::fs::read(env.key_file(2)).unwrap();
    std::fs::remove_file(env.key_file(2)).unwrap();
    let ring = RootKeyring::open(env.keys.path(), None).unwrap();
    let err = Vault::load(env.store.clone(), ring).await.unwrap_err();
    assert!(matches!(err, Error::RootKey { .. }), "{err}");
    assert!(err.to_string().contains("master.key.v2"), "{err}");

    // A different key under the right name: the vault keys do not unwrap.
    std::fs::remove_file(env.key_file(1)).unwrap();
    let mut wrong = v2.clone();
    wrong[0] ^= 1;
    write_private(&env.key_file(2), &wrong);
    let ring = RootKeyring::open(env.keys.path(), None).unwrap();
    assert!(matches!(
        Vault::load(env.store.clone(), ring).await,
        Err(Error::Crypto(_))
    ));

    // The right file back: loads.
    std::fs::remove_file(env.key_file(2)).unwrap();
    write_private(&env.key_file(2), &v2);
    env.restart().await;

    // Loose permissions or a wrong length in a configured key file are refused,
    // naming the file.
    let configured = env.keys.path().join("configured.key");
    for (bytes, mode) in [
        (vec![7u8; 32], 0o644),
        (vec![7u8; 31], 0o600),
        (vec![7u8; 33], 0o600),
    ] {
        let _ = std::fs::remove_file(&configured);
        std::fs::write(&configured, &bytes).unwrap();
        std::fs::set_permissions(
            &configured,
            std::os::unix::fs::PermissionsExt::from_mode(mode),
        )
        .unwrap();
        let err = RootKeyring::open(env.keys.path(), Some(&configured)).unwrap_err();
        assert!(
            err.to_string().contains(&configured.display().to_string()),
            "{err}"
        );
    }
}

fn write_private(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    io::Write::write_all(&mut f, bytes).unwrap();
}

const SUBJECT_MARKER: &str = "MARKER-SUBJECT-7f3a";
const BODY_MARKER: &str = "MARKER-ATTACHMENT-7f3a";
const EMAIL_MARKER: &str = "Marker-Email-7f3a";
const CONTROL_MARKER: &str = "MARKER-CONTROL-7f3a";

/// Which markers occur in `haystack`, in plain text (any case) or as hex (how
/// PostgreSQL prints bytea).
fn markers_in(haystack: &[u8]) -> Vec<&'static str> {
    let lower = haystack.to_ascii_lowercase();
    [SUBJECT_MARKER, BODY_MARKER, EMAIL_MARKER, CONTROL_MARKER]
        .into_iter()
        .filter(|m| {
            let plain = m.to_ascii_lowercase().into_bytes();
            let hex: Vec<u8> = m
                .bytes()
                .flat_map(|b| format!("{b:02x}").into_bytes())
                .collect();
            let hex_lower: Vec<u8> = m
                .to_ascii_lowercase()
                .bytes()
                .flat_map(|b| format!("{b:02x}").into_bytes())
                .collect();
            [plain, hex, hex_lower]
                .iter()
                .any(|needle| lower.windows(needle.len()).any(|w| w == &needle[..]))
        })
        .collect()
}

async fn no_marker_reaches_the_database(env: Env) {
    let v = &env.vault;
    // Plaintext that must never be stored in the clear...
    let email = NormalizedEmail::parse(&format!("{EMAIL_MARKER}@Example.org")).unwrap();
    let patient = v.identity_for_email(&email).await.unwrap();
    let org = env
        .store
        .organizations()
        .create(
            OrganizationKind::Provider,
            &format!("{CONTROL_MARKER} Clinic"),
        )
        .await
        .unwrap();
    let owners = [
        KeyOwner::Identity(patient.id.clone()),
        KeyOwner::Mailbox(org.id.clone()),
    ];
    let subject = format!("Subject: {SUBJECT_MARKER} biopsy results");
    let item = v.seal(subject.as_bytes(), &owners).await.unwrap();
    let mut attachment = Measuring {
        keep: true,
        ..Default::default()
    };
    let body = format!("{BODY_MARKER} ").repeat(5000);
    v.seal_stream(body.as_bytes(), &mut attachment, &owners)
        .await
        .unwrap();
    // ...stored where a messages table would keep it.
    exec(
        &env.store,
        "CREATE TABLE scan_items (id TEXT PRIMARY KEY, sealed TEXT NOT NULL)",
        &[],
    )
    .await;
    for (id, sealed) in [("subject", &item), ("attachment", &attachment.inner)] {
        let hex: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
        exec(
            &env.store,
            "INSERT INTO scan_items (id, sealed) VALUES ($1, $2)",
            &[id, &hex],
        )
        .await;
    }
    assert_eq!(
        &v.open(&item, &owners[0]).await.unwrap()[..],
        subject.as_bytes()
    );
    v.rotate(RotateOptions::default()).await.unwrap();
    v.erase(&owners[0]).await.unwrap();

    let mut found = Vec::new();
    if let Some(dir) = &env.db_dir {
        let db = dir.path().join("portico.db");
        let wal = dir.path().join("portico.db-wal");
        assert!(wal.exists(), "the test should see the write-ahead log");
        let mut bytes = std::fs::read(&db).unwrap();
        bytes.extend(std::fs::read(&wal).unwrap());
        found = markers_in(&bytes);
        // After the pool closes, SQLite checkpoints the log into the file.
        env.store.close().await;
        let mut after = std::fs::read(&db).unwrap();
        after.extend(std::fs::read(&wal).unwrap_or_default());
        found.extend(markers_in(&after));
    }
    if let Some(pg) = &env.postgres {
        found = markers_in(postgres_dump(&env.store, pg).await.as_bytes());
    }
    found.sort();
    found.dedup();
    // The organization's name is plaintext by design: it proves the scan sees rows.
    assert_eq!(found, vec![CONTROL_MARKER], "markers found in the database");
}

/// Every row of the database as text: `pg_dump` when it is installed, and a
/// SELECT of every row of every table in any case.
async fn postgres_dump(store: &Store, pg: &ThrowawayPostgres) -> String {
    let Store::Postgres(pool) = store else {
        unreachable!()
    };
    let mut dump = String::new();
    let url = pg.url();
    match std::process::Command::new("pg_dump")
        .arg("--dbname")
        .arg(url.expose())
        .output()
    {
        Ok(out) if out.status.success() => dump.push_str(&String::from_utf8_lossy(&out.stdout)),
        Ok(out) => panic!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => eprintln!("pg_dump not available ({e}); scanning rows with SELECT only"),
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "identity_keys"));
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM \"{table}\" t"))
            .fetch_all(pool)
            .await
            .unwrap();
        for row in rows {
            dump.push_str(&row);
            dump.push('\n');
        }
    }
    dump
}

/// Arbitrary bytes sealed to one to three owners open for each of them, on both
/// backends, and for no one else.
#[test]
fn any_plaintext_round_trips_for_one_to_three_owners() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let envs = rt.block_on(async { vec![Env::sqlite().await, Env::postgres().await] });
    let owners = vec![
        identity("p1"),
        identity("p2"),
        mailbox("m1"),
        mailbox("m2"),
        identity("m1"),
    ];
    let outsider = identity("outsider");
    rt.block_on(async {
        for env in &envs {
            env.vault
                .seal(b"", std::slice::from_ref(&outsider))
                .await
                .unwrap();
        }
    });
    let mut runner = TestRunner::new(ProptestConfig::with_cases(48));
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..20_000),
        subsequence(owners.clone(), 1..=3).prop_shuffle(),
    );
    runner
        .run(&strategy, |(plaintext, chosen)| {
            rt.block_on(async {
                for env in &envs {
                    let sealed = env.vault.seal(&plaintext, &chosen).await.unwrap();
                    for owner in &chosen {
                        let opened = env.vault.open(&sealed, owner).await.unwrap();
                        prop_assert_eq!(&opened[..], &plaintext[..]);
                    }
                    for owner in owners
                        .iter()
                        .filter(|o| !chosen.contains(o))
                        .chain([&outsider])
                    {
                        prop_assert!(is_crypto(&env.vault.open(&sealed, owner).await));
                    }
                }
                Ok(())
            })
        })
        .unwrap();
}
