//! Audit log throughput, in events per second, on SQLite (a file in a temp dir,
//! WAL, synchronous=FULL, as the store opens it) and PostgreSQL (a throwaway
//! database):
//!
//! - `record_64_callers`: 64 tasks calling `AuditLog::record` in a loop, each
//!   event durable before its call returns — the portal's real path.
//! - `append_64_per_tx`: the same chained rows appended directly, 64 per
//!   transaction, no channel or writer task — the floor the writer is measured
//!   against. Compare the two within one run (see DESIGN.md, Performance notes).
//! - `append_1_per_tx`: one row per transaction, what group commit avoids.
//!
//! `cargo bench -p portico-core --bench audit` (add `-- sqlite` for one backend).
//! `AUDIT_BENCH_DIR=/dev/shm` puts the SQLite file there instead of a temp dir on
//! disk: with syncs made free, what is left is the CPU cost of the code.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use portico_core::{
    audit::{Action, Actor, Appender, AuditEvent, AuditLog, Outcome},
    store::Store,
    testing::{migrated_store, sqlite_url, ThrowawayPostgres},
};
use tokio::runtime::Runtime;

const CALLERS: usize = 64;
const EVENTS_PER_CALLER: usize = 16;
/// Events per measured iteration, for every benchmark below.
const EVENTS: usize = CALLERS * EVENTS_PER_CALLER;

/// Events like the portal's: half patients reading their own messages, half
/// staff reading patients' messages; 10,000 patients, 500 staff, a new message
/// id (time-ordered, as UUIDv7s are) for each event. The ids a B-tree indexes
/// are scattered as they would be in life, which is what costs page writes.
fn event(n: u64) -> AuditEvent {
    let mix = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let patient = format!("0190f3c4-8f1a-7c3e-9b1e-{:012x}", (mix >> 8) % 10_000);
    let message = format!("0193{:04x}-0000-7000-8000-{:012x}", n >> 32, n);
    let actor = if n.is_multiple_of(2) {
        Actor::patient(patient.clone())
    } else {
        Actor::staff(format!(
            "0190f3c4-0000-7000-8000-{:012x}",
            (mix >> 40) % 500
        ))
    };
    AuditEvent::new(actor, Action::MessageViewed, Outcome::Success)
        .about(message)
        .about(patient)
        .in_organization("0190f3c4-8f1a-7c3e-9b1e-00000000000a")
        .from_client(
            Some([192, 0, 2, 7].into()),
            Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"),
        )
}

/// Numbers events across the whole run, so every message id is new.
static NEXT: AtomicU64 = AtomicU64::new(0);

fn next_event() -> AuditEvent {
    event(NEXT.fetch_add(1, Ordering::Relaxed))
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, store: Store) {
    // First, on the fresh database, the ratio the issue asks for.
    print_ratio(rt, name, &store);
    let mut group = c.benchmark_group(format!("audit/{name}"));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(EVENTS as u64));

    let log = rt.block_on(async { AuditLog::start(store.clone()) });
    group.bench_function("record_64_callers", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let log = log.clone();
            async move {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    elapsed += record_round(&log).await;
                }
                elapsed
            }
        })
    });
    rt.block_on(log.shutdown());

    for per_tx in [CALLERS, 1] {
        group.bench_function(format!("append_{per_tx}_per_tx"), |b| {
            b.to_async(rt).iter_custom(|iters| {
                let store = store.clone();
                async move {
                    let mut appender = Appender::new(store);
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        // Made outside the timing, as callers make them before recording.
                        let events: Vec<AuditEvent> = (0..EVENTS).map(|_| next_event()).collect();
                        let start = Instant::now();
                        for batch in events.chunks(per_tx) {
                            appender.append(batch).await.expect("appended");
                        }
                        elapsed += start.elapsed();
                    }
                    elapsed
                }
            })
        });
    }
    group.finish();
}

/// 64 callers recording `EVENTS` events through the writer (id index included).
async fn record_round(log: &AuditLog) -> Duration {
    let start = Instant::now();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let log = log.clone();
            tokio::spawn(async move {
                for _ in 0..EVENTS_PER_CALLER {
                    log.record(next_event()).await.expect("recorded");
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("caller task");
    }
    start.elapsed()
}

/// The same number of rows appended directly, `CALLERS` per transaction.
async fn raw_round(appender: &mut Appender) -> Duration {
    let events: Vec<AuditEvent> = (0..EVENTS).map(|_| next_event()).collect();
    let start = Instant::now();
    for batch in events.chunks(CALLERS) {
        appender.append(batch).await.expect("appended");
    }
    start.elapsed()
}

/// Prints record() throughput beside a raw batched append of the same rows,
/// measured in alternating rounds of one run so both see the same machine.
fn print_ratio(rt: &Runtime, name: &str, store: &Store) {
    const ROUNDS: u32 = 20;
    let (recorded, raw) = rt.block_on(async {
        let log = AuditLog::start(store.clone());
        let mut appender = Appender::new(store.clone());
        let (mut recorded, mut raw) = (Duration::ZERO, Duration::ZERO);
        for _ in 0..ROUNDS {
            recorded += record_round(&log).await;
            raw += raw_round(&mut appender).await;
        }
        log.shutdown().await;
        (recorded, raw)
    });
    let rate = |d: Duration| f64::from(ROUNDS) * EVENTS as f64 / d.as_secs_f64();
    println!(
        "audit/{name}: record() with {CALLERS} callers {:.0} events/s; raw append {CALLERS}/tx {:.0} rows/s; ratio {:.2}",
        rate(recorded),
        rate(raw),
        rate(recorded) / rate(raw)
    );
}

fn audit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let dir = match std::env::var_os("AUDIT_BENCH_DIR") {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    // `-- sqlite` or `-- postgres` runs one backend (criterion filters the
    // rest; this skips setting up and printing the other).
    let only = |name: &str| {
        let filters: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        filters.is_empty()
            || filters
                .iter()
                .any(|f| f.contains(name) || name.contains(f.as_str()))
    };
    if only("sqlite") {
        let sqlite = rt.block_on(migrated_store(&sqlite_url(dir.path())));
        bench_backend(c, &rt, "sqlite", sqlite.clone());
        rt.block_on(sqlite.close());
    }
    if !only("postgres") {
        return;
    }
    let db = rt.block_on(ThrowawayPostgres::create());
    let postgres = rt.block_on(migrated_store(&db.url()));
    bench_backend(c, &rt, "postgres", postgres.clone());
    rt.block_on(postgres.close());
}

criterion_group!(benches, audit);
criterion_main!(benches);
