//! Throwaway databases for tests, on both backends. Enabled by the `testing`
//! feature; never part of the portal itself.
//!
//! PostgreSQL is found at `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached the
//! test fails, loudly: a suite that silently skipped PostgreSQL would prove nothing
//! about it.

use std::path::Path;

use sqlx::{Connection, Executor, PgConnection};

use crate::{config::DatabaseUrl, store::Store};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A PostgreSQL database made for one test and dropped when this is dropped.
pub struct ThrowawayPostgres {
    name: String,
    url: String,
}

impl ThrowawayPostgres {
    pub async fn create() -> Self {
        let admin = admin_url();
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required for this test and is not reachable at {admin}: {e}")
        });
        let name = format!("portico_test_{}", uuid::Uuid::now_v7().simple());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create throwaway database");
        let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Self {
            name,
            url: url.to_string(),
        }
    }

    pub fn url(&self) -> DatabaseUrl {
        crate::config::Settings::load(
            None,
            [("PORTICO_DATABASE_URL".to_owned(), self.url.clone())],
        )
        .expect("throwaway database url is valid")
        .database_url
    }

    /// Drops the database now, ending any connection to it: "the database is gone".
    pub async fn drop_now(&self) {
        drop_database(&self.name).await;
    }
}

async fn drop_database(name: &str) {
    if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside or outside a runtime: use a thread of its own.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_database(&name));
            }
        })
        .join();
    }
}

/// The address of a SQLite database file inside `dir`.
pub fn sqlite_url(dir: &Path) -> DatabaseUrl {
    let value = format!("sqlite://{}", dir.join("portico.db").display());
    crate::config::Settings::load(None, [("PORTICO_DATABASE_URL".to_owned(), value)])
        .expect("sqlite url is valid")
        .database_url
}

/// A migrated store on the given database.
pub async fn migrated_store(url: &DatabaseUrl) -> Store {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// What most domain tests start from: a migrated store on SQLite or
/// PostgreSQL, a vault with key files of its own, and a running audit log.
/// The temporary directory and throwaway database live as long as this does.
pub struct TestPortal {
    pub store: Store,
    pub vault: crate::vault::Vault,
    pub audit: crate::audit::AuditLog,
    _keys: tempfile::TempDir,
    _sqlite: Option<tempfile::TempDir>,
    _postgres: Option<ThrowawayPostgres>,
}

impl TestPortal {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = migrated_store(&sqlite_url(dir.path())).await;
        Self::on(store, Some(dir), None).await
    }

    pub async fn postgres() -> Self {
        let pg = ThrowawayPostgres::create().await;
        let store = migrated_store(&pg.url()).await;
        Self::on(store, None, Some(pg)).await
    }

    async fn on(
        store: Store,
        sqlite: Option<tempfile::TempDir>,
        postgres: Option<ThrowawayPostgres>,
    ) -> Self {
        let keys = tempfile::tempdir().expect("temp dir");
        let keyring = crate::vault::RootKeyring::open(keys.path(), None).expect("root key");
        let vault = crate::vault::Vault::load(store.clone(), keyring)
            .await
            .expect("vault");
        Self {
            audit: crate::audit::AuditLog::start(store.clone()),
            store,
            vault,
            _keys: keys,
            _sqlite: sqlite,
            _postgres: postgres,
        }
    }
}

/// Runs each named scenario as two tests, `sqlite` and `postgres`, each given
/// a fresh [`TestPortal`] converted into the scenario's argument type.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::testing::TestPortal::sqlite().await.into()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::testing::TestPortal::postgres().await.into()).await
            }
        }
    )*};
}

/// Runs a statement with text parameters on either backend, as a test sets up
/// or damages rows by hand; returns the rows changed.
pub async fn exec(store: &Store, sql: &str, binds: &[&str]) -> u64 {
    crate::store::on_pool!(store, |pool| {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.execute(pool).await.map(|done| done.rows_affected())
    })
    .expect("the statement runs")
}

/// The single number a `SELECT COUNT(*) ...` with text parameters returns, on
/// either backend. (A `SELECT` through [`exec`] would report the rows the
/// connection last changed, not the rows found.)
pub async fn count(store: &Store, sql: &str, binds: &[&str]) -> i64 {
    crate::store::on_pool!(store, |pool| {
        let mut query = sqlx::query_scalar(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.fetch_one(pool).await
    })
    .expect("the count runs")
}
