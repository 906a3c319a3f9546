//! The audit log on SQLite and on PostgreSQL alike: write before serve with group
//! commit, one chain under concurrency and across instances, append-only
//! triggers, tamper detection, failures surfaced to callers, export and reads.

use std::{collections::HashMap, net::IpAddr};

use portico_core::{
    audit::{
        self, Action, Actor, Appender, AuditEvent, AuditLog, AuditRow, ExportFormat, Outcome, Page,
        Problem, Seq,
    },
    store::Store,
    testing::{self, migrated_store, sqlite_url, ThrowawayPostgres},
    Error,
};
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

// ---------------------------------------------------------------- helpers

async fn sqlite() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    (dir, store)
}

async fn postgres() -> (ThrowawayPostgres, Store) {
    let db = ThrowawayPostgres::create().await;
    let store = migrated_store(&db.url()).await;
    (db, store)
}

/// A staff member viewing a patient's message: one subject for the item, one
/// for the patient, so the patient's access history finds it.
fn viewed(caller: usize) -> AuditEvent {
    AuditEvent::new(
        Actor::staff(format!("caller-{caller}")),
        Action::MessageViewed,
        Outcome::Success,
    )
    .about(format!("msg-{caller}"))
    .about("identity-1")
    .in_organization("org-1")
    .from_client(Some(IpAddr::from([192, 0, 2, 7])), Some("Mozilla/5.0"))
}

async fn exec(store: &Store, sql: &str) -> Result<(), sqlx::Error> {
    match store {
        Store::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        Store::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
    }
}

async fn count(store: &Store) -> i64 {
    testing::count(store, "SELECT COUNT(*) FROM audit_events", &[]).await
}

/// seq → actor id of every stored row.
async fn actors_by_seq(store: &Store) -> HashMap<i64, String> {
    let sql = "SELECT seq, actor_id FROM audit_events";
    let rows: Vec<(i64, String)> = match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    };
    rows.into_iter().collect()
}

async fn row(store: &Store, seq: i64) -> AuditRow {
    let sql = "SELECT * FROM audit_events WHERE seq = $1";
    match store {
        Store::Sqlite(pool) => sqlx::query_as(sql).bind(seq).fetch_one(pool).await.unwrap(),
        Store::Postgres(pool) => sqlx::query_as(sql).bind(seq).fetch_one(pool).await.unwrap(),
    }
}

/// Overwrites one row's actor id and hash, as someone with write access to the
/// database file, triggers disabled, would.
async fn overwrite(store: &Store, seq: i64, actor_id: &str, hash: &[u8]) {
    let sql = "UPDATE audit_events SET actor_id = $1, hash = $2 WHERE seq = $3";
    match store {
        Store::Sqlite(pool) => sqlx::query(sql)
            .bind(actor_id)
            .bind(hash)
            .bind(seq)
            .execute(pool)
            .await
            .map(|_| ()),
        Store::Postgres(pool) => sqlx::query(sql)
            .bind(actor_id)
            .bind(hash)
            .bind(seq)
            .execute(pool)
            .await
            .map(|_| ()),
    }
    .unwrap();
}

async fn record_many(log: &AuditLog, callers: std::ops::Range<usize>) -> Vec<(usize, Seq)> {
    let tasks: Vec<_> = callers
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { (i, log.record(viewed(i)).await) })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        let (i, result) = task.await.unwrap();
        out.push((i, result.unwrap()));
    }
    out
}

/// Every caller got a distinct seq, the seqs are exactly 1..=n, each seq holds
/// that caller's event, and the chain verifies.
async fn assert_one_chain(store: &Store, results: &[(usize, Seq)]) {
    let n = results.len();
    let mut seqs: Vec<i64> = results.iter().map(|(_, s)| s.0).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=n as i64).collect::<Vec<_>>());
    assert_eq!(count(store).await, n as i64);
    let actors = actors_by_seq(store).await;
    for (caller, seq) in results {
        assert_eq!(actors[&seq.0], format!("caller-{caller}"), "seq {seq}");
    }
    let report = audit::verify(store).await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.events, n as u64);
    assert_eq!(report.head.map(|(s, _)| s), Some(Seq(n as i64)));
}

// ---------------------------------------------------------------- record, verify, read

async fn records_verifies_and_reads_back(store: &Store) {
    let empty = audit::verify(store).await.unwrap();
    assert!(empty.is_intact());
    assert_eq!((empty.events, empty.head), (0, None));

    let log = AuditLog::start(store.clone());
    for i in 1..=3 {
        assert_eq!(log.record(viewed(i)).await.unwrap(), Seq(i as i64));
    }
    let invalid = viewed(7).about("lab results: positive");
    assert!(matches!(
        log.record(invalid).await,
        Err(Error::Invalid {
            field: "subject_ids",
            ..
        })
    ));
    // Stopping fills the id index with all three.
    log.shutdown().await;
    assert_eq!(audit::index::indexed_through(store).await.unwrap(), 3);
    // Three more, appended without a writer: the index does not reach them, so
    // the reads below find them in the log's unindexed tail.
    let patient = AuditEvent::new(
        Actor::patient("identity-1"),
        Action::AccessHistoryViewed,
        Outcome::Success,
    )
    .about("identity-1");
    let seqs = Appender::new(store.clone())
        .append(&[viewed(4), viewed(5), patient.clone()])
        .await
        .unwrap();
    assert_eq!(seqs, [Seq(4), Seq(5), Seq(6)]);

    let first = row(store, 1).await;
    assert_eq!(first.prev_hash, audit::GENESIS);
    assert_eq!(row(store, 2).await.prev_hash, first.hash);
    let report = audit::verify(store).await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.events, 6);
    assert_eq!(report.head.unwrap().1.as_slice(), row(store, 6).await.hash);
    assert!(report
        .to_string()
        .starts_with("audit chain intact: 6 events"));

    reads_find_every_event(store, &patient).await;
    // The writer indexes in small steps: one step takes no more than it is allowed.
    assert_eq!(audit::index::index_pending(store, 2).await.unwrap(), 2);
    let half_way = audit::index::indexed_through(store).await.unwrap();
    reads_find_every_event(store, &patient).await;
    assert_eq!(
        audit::index::index_all(store).await.unwrap(),
        6 - half_way as u64
    );
    assert_eq!(audit::index::indexed_through(store).await.unwrap(), 6);
    reads_find_every_event(store, &patient).await;
}

/// Reads of the six events above, whichever of them the id index reaches.
async fn reads_find_every_event(store: &Store, patient: &AuditEvent) {
    // The patient's access history: every event naming them, newest first, paged.
    let page = audit::events_about(store, "identity-1", Page::newest(4))
        .await
        .unwrap();
    let seqs: Vec<i64> = page.iter().map(|e| e.seq.0).collect();
    assert_eq!(seqs, [6, 5, 4, 3]);
    assert_eq!(page[0].event, {
        let mut e = patient.clone();
        e.occurred_at = page[0].event.occurred_at;
        e
    });
    let next = Page {
        before: Some(Seq(3)),
        limit: 4,
    };
    let rest = audit::events_about(store, "identity-1", next)
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(rest[1].event, {
        let mut e = viewed(1);
        e.occurred_at = rest[1].event.occurred_at;
        e
    });
    let one = audit::events_about(store, "msg-3", Page::newest(10))
        .await
        .unwrap();
    assert_eq!(one.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [3]);

    let by = audit::events_by(store, &Actor::staff("caller-2"), Page::newest(10))
        .await
        .unwrap();
    assert_eq!(by.iter().map(|e| e.seq.0).collect::<Vec<_>>(), [2]);
    let by = audit::events_by(store, &Actor::patient("caller-2"), Page::newest(10))
        .await
        .unwrap();
    assert!(by.is_empty(), "the actor's kind counts, not only the id");
    let org = audit::events_in_organization(store, "org-1", Page::newest(10))
        .await
        .unwrap();
    assert_eq!(org.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_records_verifies_and_reads_back() {
    let (_dir, store) = sqlite().await;
    records_verifies_and_reads_back(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_records_verifies_and_reads_back() {
    let (_db, store) = postgres().await;
    records_verifies_and_reads_back(&store).await;
}

// ---------------------------------------------------------------- append-only

async fn updates_and_deletes_are_refused(store: &Store) {
    let log = AuditLog::start(store.clone());
    record_many(&log, 0..3).await;
    log.shutdown().await;

    for sql in [
        "UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 2",
        "UPDATE audit_events SET outcome = 'denied'",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",
        "UPDATE audit_ids SET id = 'other' WHERE seq = 1",
        "DELETE FROM audit_ids WHERE seq = 1",
    ] {
        let err = exec(store, sql).await.expect_err(sql);
        let text = err.to_string();
        assert!(text.contains("append-only"), "{sql}: {text}");
        assert!(text.contains(if sql.starts_with("UPDATE") {
            "UPDATE"
        } else {
            "DELETE"
        }));
    }
    if matches!(store, Store::Postgres(_)) {
        let err = exec(store, "TRUNCATE audit_events CASCADE")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
    assert_eq!(count(store).await, 3);
    assert!(audit::verify(store).await.unwrap().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_updates_and_deletes() {
    let (_dir, store) = sqlite().await;
    updates_and_deletes_are_refused(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_updates_and_deletes() {
    let (_db, store) = postgres().await;
    updates_and_deletes_are_refused(&store).await;
}

// ---------------------------------------------------------------- tamper detection

/// On a store whose append-only triggers are off, alters rows the ways an
/// intruder could and checks that verify names the first bad row each time.
async fn verify_names_the_tampered_row(store: &Store) {
    assert_eq!(count(store).await, 20);
    assert!(audit::verify(store).await.unwrap().is_intact());
    let original = row(store, 7).await;

    // A row's content changed: that row's hash no longer matches.
    exec(
        store,
        "UPDATE audit_events SET action = 'no_such_action' WHERE seq = 7",
    )
    .await
    .unwrap();
    let report = audit::verify(store).await.unwrap();
    let broken = report.broken.clone().expect("the change is found");
    assert_eq!(
        (broken.seq, broken.problem),
        (Seq(7), Problem::HashMismatch)
    );
    assert_eq!(report.events, 6);
    assert_eq!(report.head.map(|(s, _)| s), Some(Seq(6)));
    assert!(report.to_string().contains("BROKEN at seq 7"), "{report}");
    // Reading it back reports the row rather than guessing.
    let err = audit::events_by(
        store,
        &Actor::staff(original.actor_id.as_str()),
        Page::newest(5),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::AuditCorrupt { seq: 7, .. }), "{err}");
    exec(
        store,
        "UPDATE audit_events SET action = 'message_viewed' WHERE seq = 7",
    )
    .await
    .unwrap();
    assert!(audit::verify(store).await.unwrap().is_intact());

    // Changed and rehashed: the row itself checks out, the link to it does not.
    let mut forged = original.clone();
    forged.actor_id = "caller-999".into();
    overwrite(store, 7, &forged.actor_id, &forged.compute_hash()).await;
    let broken = audit::verify(store).await.unwrap().broken.unwrap();
    assert_eq!(
        (broken.seq, broken.problem),
        (Seq(8), Problem::PrevHashMismatch)
    );
    overwrite(store, 7, &original.actor_id, &original.hash).await;
    assert!(audit::verify(store).await.unwrap().is_intact());

    // A row removed: the seq after it jumps.
    exec(store, "DELETE FROM audit_ids WHERE seq = 12")
        .await
        .unwrap();
    exec(store, "DELETE FROM audit_events WHERE seq = 12")
        .await
        .unwrap();
    let report = audit::verify(store).await.unwrap();
    let broken = report.broken.unwrap();
    assert_eq!(
        (broken.seq, broken.problem),
        (Seq(13), Problem::Gap { expected: Seq(12) })
    );
    assert_eq!(report.events, 11);
}

async fn twenty_events(store: &Store) {
    let log = AuditLog::start(store.clone());
    let results = record_many(&log, 0..20).await;
    log.shutdown().await;
    assert_one_chain(store, &results).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_verify_names_a_row_changed_behind_the_triggers_back() {
    let (dir, store) = sqlite().await;
    twenty_events(&store).await;
    // Copy the database file, as an intruder with file access could, and alter the copy.
    exec(&store, "PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();
    let copy_dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("portico.db"),
        copy_dir.path().join("portico.db"),
    )
    .unwrap();
    let copy = Store::connect(&sqlite_url(copy_dir.path())).await.unwrap();
    exec(&copy, "DROP TRIGGER audit_events_no_update")
        .await
        .unwrap();
    exec(&copy, "DROP TRIGGER audit_events_no_delete")
        .await
        .unwrap();
    exec(&copy, "DROP TRIGGER audit_ids_no_delete")
        .await
        .unwrap();
    verify_names_the_tampered_row(&copy).await;
    // The original is untouched and still verifies.
    assert!(audit::verify(&store).await.unwrap().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_names_a_row_changed_behind_the_triggers_back() {
    let (_db, store) = postgres().await;
    twenty_events(&store).await;
    // As superuser, in this throwaway database only.
    exec(
        &store,
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    )
    .await
    .unwrap();
    exec(
        &store,
        "ALTER TABLE audit_ids DISABLE TRIGGER audit_ids_append_only",
    )
    .await
    .unwrap();
    verify_names_the_tampered_row(&store).await;
}

// ---------------------------------------------------------------- concurrency

async fn ten_thousand_concurrent_callers(store: &Store) {
    let log = AuditLog::start(store.clone());
    let results = record_many(&log, 0..10_000).await;
    assert_one_chain(store, &results).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_ten_thousand_concurrent_callers_make_one_chain() {
    let (_dir, store) = sqlite().await;
    ten_thousand_concurrent_callers(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_ten_thousand_concurrent_callers_make_one_chain() {
    let (_db, store) = postgres().await;
    ten_thousand_concurrent_callers(&store).await;
}

/// Two instances (each its own pool and writer) on one database keep one chain.
async fn two_writers_keep_one_chain(url: &portico_core::config::DatabaseUrl) {
    let first = migrated_store(url).await;
    let second = migrated_store(url).await;
    let (a, b) = (
        AuditLog::start(first.clone()),
        AuditLog::start(second.clone()),
    );
    let (from_a, from_b) = tokio::join!(record_many(&a, 0..3000), record_many(&b, 3000..6000));
    let all: Vec<_> = from_a.into_iter().chain(from_b).collect();
    assert_one_chain(&first, &all).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_keep_one_chain() {
    let db = ThrowawayPostgres::create().await;
    two_writers_keep_one_chain(&db.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_keep_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    two_writers_keep_one_chain(&sqlite_url(dir.path())).await;
}

// ---------------------------------------------------------------- failures

/// A database that refuses some inserts (a trigger stands in for a full disk or
/// a lost lock): each refused caller gets an error and has no row, and only
/// they do: the writer isolates the refused events from the rest of their
/// batch. Every caller answered with a seq has its row; the chain stays whole.
async fn a_failed_commit_reaches_every_caller_in_the_batch(store: &Store) {
    match store {
        Store::Sqlite(_) => exec(
            store,
            "CREATE TRIGGER poison BEFORE INSERT ON audit_events WHEN NEW.actor_id = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .await
        .unwrap(),
        Store::Postgres(_) => exec(
            store,
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.actor_id = 'poison' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER poison BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION poison();",
        )
        .await
        .unwrap(),
    }
    let poison = || {
        AuditEvent::new(
            Actor::system("poison"),
            Action::AlertRaised,
            Outcome::Success,
        )
    };
    let log = AuditLog::start(store.clone());
    assert_eq!(log.record(viewed(0)).await.unwrap(), Seq(1));
    let err = log.record(poison()).await.unwrap_err();
    assert!(
        matches!(err, Error::AuditUnavailable(ref m) if m.contains("disk full")),
        "{err}"
    );
    // The head did not move: the next event takes seq 2.
    assert_eq!(log.record(viewed(1)).await.unwrap(), Seq(2));

    let tasks: Vec<_> = (2..302)
        .map(|i| {
            let log = log.clone();
            let event = if i % 30 == 0 { poison() } else { viewed(i) };
            tokio::spawn(async move { (i, log.record(event).await) })
        })
        .collect();
    let actors = {
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        let actors = actors_by_seq(store).await;
        for (i, answer) in &answers {
            match answer {
                Ok(seq) => assert_eq!(actors[&seq.0], format!("caller-{i}")),
                Err(Error::AuditUnavailable(_)) => {
                    let me = format!("caller-{i}");
                    assert!(
                        !actors.values().any(|a| *a == me),
                        "failed caller {i} has a row"
                    );
                }
                Err(other) => panic!("unexpected error {other}"),
            }
            assert_eq!(answer.is_err(), i % 30 == 0, "caller {i}: {answer:?}");
        }
        assert_eq!(actors.len(), 2 + 290);
        actors
    };
    let report = audit::verify(store).await.unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.events, actors.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_failed_commit_reaches_every_caller_in_the_batch() {
    let (_dir, store) = sqlite().await;
    a_failed_commit_reaches_every_caller_in_the_batch(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failed_commit_reaches_every_caller_in_the_batch() {
    let (_db, store) = postgres().await;
    a_failed_commit_reaches_every_caller_in_the_batch(&store).await;
}

/// The database gone for good: every record fails, none hangs or panics.
async fn a_closed_database_fails_every_record(store: &Store) {
    let log = AuditLog::start(store.clone());
    assert_eq!(log.record(viewed(0)).await.unwrap(), Seq(1));
    store.close().await;
    for i in 1..4 {
        let err = log.record(viewed(i)).await.unwrap_err();
        assert!(matches!(err, Error::AuditUnavailable(_)), "{err}");
    }
    log.shutdown().await;
    let err = log.record(viewed(9)).await.unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_closed_database_fails_every_record() {
    let (_dir, store) = sqlite().await;
    a_closed_database_fails_every_record(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_closed_database_fails_every_record() {
    let (_db, store) = postgres().await;
    a_closed_database_fails_every_record(&store).await;
}

/// PostgreSQL restarted (connections terminated): the writer reconnects and no
/// caller sees an error, because nothing had been sent when the connection died.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writer_survives_lost_connections() {
    let (db, store) = postgres().await;
    let log = AuditLog::start(store.clone());
    assert_eq!(log.record(viewed(0)).await.unwrap(), Seq(1));
    let mut admin = PgConnection::connect(db.url().expose()).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    assert_eq!(log.record(viewed(1)).await.unwrap(), Seq(2));
    assert_eq!(log.record(viewed(2)).await.unwrap(), Seq(3));
    assert!(audit::verify(&store).await.unwrap().is_intact());
}

/// Shutting down writes what is queued; callers answered with a seq have their
/// row, and the rest are told the log is shut down.
async fn shutdown_drains_the_queue(store: &Store) {
    let log = AuditLog::start(store.clone());
    let tasks: Vec<_> = (0..2000)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { (i, log.record(viewed(i)).await) })
        })
        .collect();
    tokio::task::yield_now().await;
    log.shutdown().await;
    let actors = actors_by_seq(store).await;
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            (i, Ok(seq)) => {
                ok += 1;
                assert_eq!(actors[&seq.0], format!("caller-{i}"));
            }
            (_, Err(e)) => assert!(e.to_string().contains("shut down"), "{e}"),
        }
    }
    assert_eq!(actors.len(), ok);
    assert!(log.record(viewed(0)).await.is_err());
    assert!(audit::verify(store).await.unwrap().is_intact());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shutdown_drains_the_queue() {
    let (_dir, store) = sqlite().await;
    shutdown_drains_the_queue(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_shutdown_drains_the_queue() {
    let (_db, store) = postgres().await;
    shutdown_drains_the_queue(&store).await;
}

// ---------------------------------------------------------------- export

async fn export_writes_exactly_the_range(store: &Store) {
    let log = AuditLog::start(store.clone());
    // Times out of seq order, to show the range is by time.
    let times = [1_000, 1_005, 1_001, 1_006, 1_003, 1_007, 1_003, 999];
    let tricky_agent = "Mozilla/5.0 (X11; \"quoted\", comma, ünïcode)";
    for (i, t) in times.iter().enumerate() {
        let event = viewed(i).at(*t).from_client(None, Some(tricky_agent));
        log.record(event).await.unwrap();
    }
    log.shutdown().await;
    // [1001, 1006): seqs 3 (t=1001), 5 and 7 (t=1003), 2 (t=1005), ordered by time then seq.
    let expected = [3i64, 5, 7, 2];

    let mut jsonl = Vec::new();
    let n = audit::export(store, 1_001, 1_006, ExportFormat::Jsonl, &mut jsonl)
        .await
        .unwrap();
    assert_eq!(n, 4);
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, expected);
    let first = &lines[0];
    assert_eq!(first["occurred_at"], 1_001);
    assert_eq!(first["occurred_at_utc"], "1970-01-01T00:00:01.001Z");
    assert_eq!(first["action"], "message_viewed");
    assert_eq!(first["actor_kind"], "staff");
    assert_eq!(
        first["subject_ids"],
        serde_json::json!(["msg-2", "identity-1"])
    );
    assert_eq!(first["client_address"], serde_json::Value::Null);
    assert_eq!(first["user_agent"], tricky_agent);
    let stored = row(store, 3).await;
    assert_eq!(
        first["hash"].as_str().unwrap(),
        audit::chain::to_hex(&stored.hash)
    );
    assert_eq!(
        first["prev_hash"].as_str().unwrap(),
        audit::chain::to_hex(&stored.prev_hash)
    );

    let mut csv_out = Vec::new();
    let n = audit::export(store, 1_001, 1_006, ExportFormat::Csv, &mut csv_out)
        .await
        .unwrap();
    assert_eq!(n, 4);
    let mut reader = csv::Reader::from_reader(csv_out.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header[0], "seq");
    assert_eq!(header.len(), 13);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let seqs: Vec<i64> = records
        .iter()
        .map(|r| r[col("seq")].parse().unwrap())
        .collect();
    assert_eq!(seqs, expected);
    for r in &records {
        assert_eq!(
            &r[col("user_agent")],
            tricky_agent,
            "quotes and commas survive"
        );
        assert_eq!(&r[col("organization_id")], "org-1");
        assert_eq!(&r[col("client_address")], "");
    }
    assert_eq!(&records[0][col("subject_ids")], "msg-2 identity-1");

    // An empty range: no events; CSV still has its header.
    let mut empty = Vec::new();
    let n = audit::export(store, 2_000, 3_000, ExportFormat::Csv, &mut empty)
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(String::from_utf8(empty).unwrap().lines().count(), 1);
    let mut all = Vec::new();
    let n = audit::export(store, 0, i64::MAX, ExportFormat::Jsonl, &mut all)
        .await
        .unwrap();
    assert_eq!(n, times.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_export_writes_exactly_the_range() {
    let (_dir, store) = sqlite().await;
    export_writes_exactly_the_range(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_export_writes_exactly_the_range() {
    let (_db, store) = postgres().await;
    export_writes_exactly_the_range(&store).await;
}
