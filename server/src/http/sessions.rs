//! Server-side sessions: tower-sessions on the core store's `sessions` table.
//! The cookie carries only the random session id; rows are keyed by its
//! SHA-256. The cookie is `__Host-portico` over https (Secure, path /, no
//! domain), `portico_session` on http://localhost in development; HttpOnly and
//! SameSite=Strict always. Sessions expire after the idle timeout without a
//! request; the absolute timeout is checked against the sign-in time (see
//! `portico_app::auth`).

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

#[derive(Clone, Debug)]
pub struct PorticoSessionStore {
    store: Store,
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
        SessionRecords(&self.store)
            .save(&to_row(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = SessionRecords(&self.store)
            .load(&id_hash(id))
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
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
    SessionManagerLayer::new(PorticoSessionStore { store })
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
