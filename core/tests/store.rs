//! The schema applies and round-trips on SQLite and on PostgreSQL alike.

use portico_core::{
    store::{Backend, OrganizationKind, Store},
    testing::{migrated_store, sqlite_url, ThrowawayPostgres},
    Error,
};

async fn round_trip(store: &Store) {
    let orgs = store.organizations();
    let created = orgs
        .create(OrganizationKind::HealthPlan, "  Evergreen Health Plan ")
        .await
        .unwrap();
    assert_eq!(created.display_name, "Evergreen Health Plan");
    assert_eq!(orgs.get(&created.id).await.unwrap(), created);
    assert!(matches!(orgs.get("no-such-id").await, Err(Error::NotFound)));
    assert!(matches!(
        orgs.create(OrganizationKind::Provider, "   ").await,
        Err(Error::Invalid {
            field: "display_name",
            ..
        })
    ));

    let ids = store.identities();
    let digest = [7u8; 32];
    let first = ids.find_or_create(&digest).await.unwrap();
    let again = ids.find_or_create(&digest).await.unwrap();
    assert_eq!(first, again, "one identity per address");
    assert_eq!(ids.get(&first.id).await.unwrap(), first);
    let other = ids.find_or_create(&[8u8; 32]).await.unwrap();
    assert_ne!(other.id, first.id);
    assert!(matches!(
        ids.find_or_create(b"short").await,
        Err(Error::Invalid {
            field: "email_digest",
            ..
        })
    ));
}

/// Several processes starting at once each run the migrations; all must succeed.
async fn concurrent_migrations(url: &portico_core::config::DatabaseUrl) {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .expect("every concurrent migration succeeds");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrates_concurrently_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    concurrent_migrations(&url).await;
    let store = migrated_store(&url).await;
    assert_eq!(store.backend(), Backend::Sqlite);
    round_trip(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrates_concurrently_and_round_trips() {
    let db = ThrowawayPostgres::create().await;
    concurrent_migrations(&db.url()).await;
    let store = migrated_store(&db.url()).await;
    assert_eq!(store.backend(), Backend::Postgres);
    round_trip(&store).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_never_jit_compile_a_query() {
    let db = ThrowawayPostgres::create().await;
    let store = migrated_store(&db.url()).await;
    let Store::Postgres(pool) = &store else {
        unreachable!()
    };
    // Every connection of the pool, not just the first one handed out.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut conn = pool.acquire().await.unwrap();
        let jit: String = sqlx::query_scalar("SHOW jit")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(jit, "off");
        held.push(conn);
    }
    drop(held);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_store_fails_its_ping() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    store.ping().await.unwrap();
    store.close().await;
    assert!(store.ping().await.is_err());
}

/// The write-ahead log is copied back into the database file as it grows, so
/// a portal that writes all day keeps a log of a few megabytes, not one that
/// grows with every commit. (A background checkpoint tried once let the log
/// reach 178 MB under load: the audit writer's commits kept landing while it
/// copied, so the log never got to start over.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_ahead_log_stays_small_under_many_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    sqlx::query("CREATE TABLE filler (bytes BLOB NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    // 2,000 commits of 16 KiB: 32 MiB through the log.
    for _ in 0..2_000 {
        sqlx::query("INSERT INTO filler (bytes) VALUES (randomblob(16384))")
            .execute(pool)
            .await
            .unwrap();
    }
    let log = std::fs::metadata(dir.path().join("portico.db-wal")).unwrap();
    assert!(
        log.len() < 8 << 20,
        "the log holds {} bytes after 32 MiB of commits",
        log.len()
    );
    store.close().await;
}

/// A write that finds another connection holding the write lock (under load,
/// the audit writer's) waits for it rather than failing, and still gives up,
/// with an error, once the lock has been held past the acquire timeout (5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_wait_out_a_held_lock_then_give_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&sqlite_url(dir.path())).await;
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    sqlx::query("CREATE TABLE marks (n INTEGER NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    let write = |n: i64| {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query("INSERT INTO marks (n) VALUES ($1)")
                .bind(n)
                .execute(&pool)
                .await
        })
    };

    // Held briefly: the other write waits, then lands after it.
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    sqlx::query("INSERT INTO marks (n) VALUES (1)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let waiting = write(2);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the write waits while the lock is held"
    );
    sqlx::query("COMMIT").execute(&mut *holder).await.unwrap();
    waiting
        .await
        .unwrap()
        .expect("the waiting write succeeds once the lock is free");
    let marks: Vec<i64> = sqlx::query_scalar("SELECT n FROM marks ORDER BY rowid")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(marks, [1, 2], "both writes, in the order they got the lock");

    // Held past the timeout: the write fails instead of hanging.
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let refused = tokio::time::timeout(std::time::Duration::from_secs(60), write(3))
        .await
        .expect("the write gives up rather than waiting forever")
        .unwrap();
    assert!(refused.is_err(), "a lock held too long fails the write");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(4),
        "it waited about the acquire timeout first: {:?}",
        started.elapsed()
    );
    sqlx::query("ROLLBACK").execute(&mut *holder).await.unwrap();
    drop(holder);
    store.close().await;
}
