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
