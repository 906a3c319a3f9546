//! The vault against the age crate it is built on, measured in the same run (the
//! design notes say figures move by up to 1.6× between runs: compare ratios).
//!
//! - `item_4k`: seal 4 KiB to two owners (a patient and a mailbox), then open it
//!   as the first, through the vault (key look-ups in SQLite or PostgreSQL
//!   included) and with age alone (keys already in memory). Target: the vault on
//!   SQLite within 1.25× of age.
//! - `identity_key`: unwrapping one owner's secret key (target ≤ 10 µs), alone and
//!   with the database read an open does before it.
//!
//! Run: `cargo bench -p portico-core --bench vault` (PostgreSQL at 127.0.0.1).

use std::io::{Read, Write};

use criterion::{criterion_group, criterion_main, Criterion};
use portico_core::{
    testing::{migrated_store, sqlite_url, ThrowawayPostgres},
    vault::{measure, KeyOwner, RootKeyring, Vault},
};

const SIZE: usize = 4096;

fn age_seal_open(
    recipients: &[age::x25519::Recipient],
    reader: &age::x25519::Identity,
    plaintext: &[u8],
) -> Vec<u8> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .unwrap();
    let mut sealed = Vec::with_capacity(plaintext.len() + 512);
    let mut w = encryptor.wrap_output(&mut sealed).unwrap();
    w.write_all(plaintext).unwrap();
    w.finish().unwrap();
    let decryptor = age::Decryptor::new_buffered(&sealed[..]).unwrap();
    let mut r = decryptor
        .decrypt(std::iter::once(reader as &dyn age::Identity))
        .unwrap();
    let mut out = Vec::with_capacity(sealed.len());
    r.read_to_end(&mut out).unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let plaintext: Vec<u8> = (0..SIZE).map(|i| (i * 31) as u8).collect();
    let patient = KeyOwner::Identity("patient".into());
    let mailbox = KeyOwner::Mailbox("mailbox".into());
    let owners = [patient.clone(), mailbox.clone()];

    let keys = tempfile::tempdir().unwrap();
    let sqlite_dir = tempfile::tempdir().unwrap();
    let pg = rt.block_on(ThrowawayPostgres::create());
    let (sqlite, postgres) = rt.block_on(async {
        let sqlite = Vault::load(
            migrated_store(&sqlite_url(sqlite_dir.path())).await,
            RootKeyring::open(keys.path(), None).unwrap(),
        )
        .await
        .unwrap();
        let postgres = Vault::load(
            migrated_store(&pg.url()).await,
            RootKeyring::open(keys.path(), None).unwrap(),
        )
        .await
        .unwrap();
        for v in [&sqlite, &postgres] {
            v.seal(b"warm", &owners).await.unwrap();
        }
        (sqlite, postgres)
    });

    let age_reader = age::x25519::Identity::generate();
    let age_recipients = [
        age_reader.to_public(),
        age::x25519::Identity::generate().to_public(),
    ];
    let held_recipients = rt.block_on(sqlite.recipients(&owners)).unwrap();
    let held_key = rt.block_on(sqlite.reader_key(&patient)).unwrap();

    let mut group = c.benchmark_group("item_4k");
    group.bench_function("age alone: encrypt to 2 + decrypt", |b| {
        b.iter(|| age_seal_open(&age_recipients, &age_reader, &plaintext))
    });
    group.bench_function("vault, keys held: seal to 2 + open", |b| {
        b.iter(|| {
            let sealed = held_recipients.seal(&plaintext).unwrap();
            held_key.open(&sealed).unwrap()
        })
    });
    for (name, vault) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        group.bench_function(format!("vault on {name}: seal to 2 + open"), |b| {
            b.to_async(&rt).iter(|| async {
                let sealed = vault.seal(&plaintext, &owners).await.unwrap();
                vault.open(&sealed, &patient).await.unwrap()
            })
        });
    }
    group.finish();

    let ring = RootKeyring::open(keys.path(), None).unwrap();
    let wrapped = measure::wrapped_identity_key(&ring, &patient).unwrap();
    let mut group = c.benchmark_group("identity_key");
    group.bench_function("unwrap (AEAD + parse)", |b| {
        b.iter(|| measure::unwrap_identity_key(&ring, &patient, &wrapped).unwrap())
    });
    for (name, vault) in [("sqlite", &sqlite), ("postgres", &postgres)] {
        group.bench_function(format!("read from {name} + unwrap"), |b| {
            b.to_async(&rt)
                .iter(|| async { vault.reader_key(&patient).await.unwrap() })
        });
    }
    group.finish();
    drop(mailbox);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(40)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
