//! Server-side sessions: tower-sessions on the core store's `sessions` table.
//! The cookie carries only the random session id; rows are keyed by its
//! SHA-256. The cookie is `__Host-portico` over https (Secure, path /, no
//! domain), `portico_session` on http://localhost in development; HttpOnly and
//! SameSite=Strict always. Sessions expire after the idle timeout without a
//! request; the absolute timeout is checked against the sign-in time (see
//! `portico_app::auth`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use portico_core::{
    auth::sessions::{SessionRecord, SessionRecords},
    config::Settings,
    store::Store,
};
use sha2::{Digest, Sha256};
use tower_sessions::{
    cookie::{time::Duration, SameSite},
    session::{Id, Record},
    session_store::{self, SessionStore},
    Expiry, SessionManagerLayer,
};

/// The session key under which the signed-in person is kept; the store copies
/// it to the `person` column so "sign out everywhere" can find every session.
pub const PERSON_KEY: &str = "person";

/// Each session's stored data and expiry, by id hash.
type Seen = HashMap<[u8; 32], (String, i64)>;

#[derive(Clone, Debug)]
pub struct PorticoSessionStore {
    store: Store,
    /// Each session as this process last read or wrote it, so that a request
    /// that changed nothing but the idle expiry writes at most once a minute.
    seen: Arc<Mutex<Seen>>,
    /// A session whose data is unchanged is written again only once its expiry
    /// has moved this far (a fifteenth of the idle timeout, at most a minute):
    /// the idle timeout may then end a session that much early, never late,
    /// and most views cost no write (and no disk sync) of their own.
    extend_every_ms: i64,
}
/// Sessions remembered; past this the memory starts over (rare, and harmless:
/// the next save of each is written).
const SEEN_MAX: usize = 100_000;

impl PorticoSessionStore {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember(&self, row: &SessionRecord) {
        let mut seen = self.seen();
        if seen.len() >= SEEN_MAX {
            seen.clear();
        }
        seen.insert(row.id_hash, (row.data.clone(), row.expires_at));
    }

    /// True when `row` differs from what is stored only by an expiry moved
    /// less than `EXTEND_EVERY_MS` later.
    fn barely_changed(&self, row: &SessionRecord) -> bool {
        self.seen()
            .get(&row.id_hash)
            .is_some_and(|(data, expires_at)| {
                *data == row.data
                    && row.expires_at >= *expires_at
                    && row.expires_at - expires_at < self.extend_every_ms
            })
    }
}

fn id_hash(id: &Id) -> [u8; 32] {
    Sha256::digest(id.to_string().as_bytes()).into()
}

fn backend(error: portico_core::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn to_row(record: &Record) -> session_store::Result<SessionRecord> {
    let person = record
        .data
        .get(PERSON_KEY)
        .and_then(|p| p.get("key"))
        .and_then(|k| k.as_str())
        .map(str::to_owned);
    Ok(SessionRecord {
        id_hash: id_hash(&record.id),
        person,
        data: serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?,
        expires_at: record.expiry_date.unix_timestamp().saturating_mul(1000),
    })
}

#[async_trait]
impl SessionStore for PorticoSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh random id colliding is all but impossible; still, never overwrite.
        while !SessionRecords(&self.store)
            .create(&to_row(record)?)
            .await
            .map_err(backend)?
        {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let row = to_row(record)?;
        if self.barely_changed(&row) {
            return Ok(());
        }
        SessionRecords(&self.store)
            .save(&row)
            .await
            .map_err(backend)?;
        self.remember(&row);
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = SessionRecords(&self.store)
            .load(&id_hash(id))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        self.remember(&row);
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = tower_sessions::cookie::time::OffsetDateTime::from_unix_timestamp(
            row.expires_at / 1000,
        )
        .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.seen().remove(&id_hash(id));
        SessionRecords(&self.store)
            .delete(&id_hash(id))
            .await
            .map_err(backend)
    }
}

/// The session layer for these settings.
pub fn layer(store: Store, settings: &Settings) -> SessionManagerLayer<PorticoSessionStore> {
    let https = settings.is_https();
    let idle = Duration::seconds(i64::try_from(settings.idle_timeout.as_secs()).unwrap_or(900));
    let extend_every = (settings.idle_timeout / 15).min(std::time::Duration::from_secs(60));
    SessionManagerLayer::new(PorticoSessionStore {
        store,
        seen: Arc::default(),
        extend_every_ms: i64::try_from(extend_every.as_millis()).unwrap_or(60_000),
    })
    .with_name(if https {
        "__Host-portico"
    } else {
        "portico_session"
    })
    .with_secure(https)
    .with_http_only(true)
    .with_same_site(SameSite::Strict)
    .with_path("/")
    .with_expiry(Expiry::OnInactivity(idle))
}

/// A new signed-in session for a patient, made outside a request (the load
/// benchmark's seed): the cookie value to send, and the row to store.
pub fn patient_session(
    identity_id: &str,
    lifetime: std::time::Duration,
) -> (String, SessionRecord) {
    let id = Id::default();
    let now = portico_core::store::now_ms();
    let mut data = std::collections::HashMap::new();
    data.insert(
        PERSON_KEY.to_owned(),
        serde_json::json!({
            "key": format!("patient:{identity_id}"),
            "kind": "patient",
            "id": identity_id,
            "signed_in_at": now,
        }),
    );
    let row = SessionRecord {
        id_hash: id_hash(&id),
        person: Some(format!("patient:{identity_id}")),
        data: serde_json::to_string(&data).unwrap_or_default(),
        expires_at: now + i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX),
    };
    (id.to_string(), row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_core::testing::{migrated_store, sqlite_url};
    use tower_sessions::cookie::time::OffsetDateTime;

    #[tokio::test]
    async fn an_unchanged_session_is_written_again_only_once_its_expiry_has_moved_enough() {
        let dir = tempfile::tempdir().unwrap();
        let store = migrated_store(&sqlite_url(dir.path())).await;
        let sessions = PorticoSessionStore {
            store: store.clone(),
            seen: Arc::default(),
            extend_every_ms: 60_000,
        };
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([("k".to_owned(), serde_json::json!("v"))]),
            expiry_date: OffsetDateTime::now_utc() + Duration::minutes(15),
        };
        sessions.create(&mut record).await.unwrap();
        sessions.load(&record.id).await.unwrap().expect("stored");
        let stored = || async {
            SessionRecords(&store)
                .load(&id_hash(&record.id))
                .await
                .unwrap()
                .expect("stored")
        };
        let first = stored().await;

        // A request 10 s later changes only the expiry: nothing is written.
        record.expiry_date += Duration::seconds(10);
        sessions.save(&record).await.unwrap();
        assert_eq!(stored().await, first);
        // Past a minute, the expiry is written.
        record.expiry_date += Duration::seconds(61);
        sessions.save(&record).await.unwrap();
        let moved = stored().await;
        assert_eq!(moved.expires_at, first.expires_at + 71_000);
        // Changed data is written at once.
        record.data.insert(
            "person".to_owned(),
            serde_json::json!({"key": "patient:p1"}),
        );
        record.expiry_date += Duration::seconds(1);
        sessions.save(&record).await.unwrap();
        let changed = stored().await;
        assert_eq!(changed.person.as_deref(), Some("patient:p1"));
        // An earlier expiry (never made by a request, but) is written too.
        record.expiry_date -= Duration::seconds(30);
        sessions.save(&record).await.unwrap();
        assert_eq!(stored().await.expires_at, changed.expires_at - 30_000);
    }
}
