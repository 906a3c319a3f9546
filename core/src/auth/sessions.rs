//! Session records, as the web layer's session store keeps them: looked up by
//! the hash of the session id, expiring, and findable by the person signed in
//! so that "sign out everywhere" can end them all.

use crate::{
    store::{now_ms, on_pool, Store},
    Result,
};

/// The sessions table.
pub struct SessionRecords<'a>(pub &'a Store);

/// One stored session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 of the session id.
    pub id_hash: [u8; 32],
    /// `patient:<id>` or `staff:<id>` once signed in.
    pub person: Option<String>,
    /// JSON.
    pub data: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

impl SessionRecords<'_> {
    /// Inserts or replaces a session.
    pub async fn save(&self, record: &SessionRecord) -> Result<()> {
        on_pool!(self.0, |pool| sqlx::query(
            "INSERT INTO sessions (id_hash, person, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO UPDATE SET person = excluded.person, data = excluded.data, \
             expires_at = excluded.expires_at"
        )
        .bind(record.id_hash.as_slice())
        .bind(record.person.as_deref())
        .bind(&record.data)
        .bind(record.expires_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Inserts a session unless its id is taken; true when inserted.
    pub async fn create(&self, record: &SessionRecord) -> Result<bool> {
        let inserted = on_pool!(self.0, |pool| sqlx::query(
            "INSERT INTO sessions (id_hash, person, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO NOTHING"
        )
        .bind(record.id_hash.as_slice())
        .bind(record.person.as_deref())
        .bind(&record.data)
        .bind(record.expires_at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(inserted == 1)
    }

    /// The session, unless it is unknown or expired.
    pub async fn load(&self, id_hash: &[u8; 32]) -> Result<Option<SessionRecord>> {
        const SQL: &str =
            "SELECT person, data, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > $2";
        let row: Option<(Option<String>, String, i64)> = match self.0.sync_readers() {
            // Read in place (every request makes this read first).
            Some(readers) => readers.read(|conn| {
                use rusqlite::OptionalExtension;
                conn.prepare_cached(SQL)?
                    .query_row((id_hash.as_slice(), now_ms()), |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
            })?,
            None => on_pool!(self.0, |pool| {
                sqlx::query_as(SQL)
                    .bind(id_hash.as_slice())
                    .bind(now_ms())
                    .fetch_optional(pool)
                    .await
            })?,
        };
        Ok(row.map(|(person, data, expires_at)| SessionRecord {
            id_hash: *id_hash,
            person,
            data,
            expires_at,
        }))
    }

    pub async fn delete(&self, id_hash: &[u8; 32]) -> Result<()> {
        on_pool!(self.0, |pool| sqlx::query(
            "DELETE FROM sessions WHERE id_hash = $1"
        )
        .bind(id_hash.as_slice())
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Ends every session of `person`; returns how many there were.
    pub async fn delete_person(&self, person: &str) -> Result<u64> {
        let n = on_pool!(self.0, |pool| sqlx::query(
            "DELETE FROM sessions WHERE person = $1"
        )
        .bind(person)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n)
    }

    /// Sessions not yet expired (signed in or not), for monitoring.
    pub async fn live(&self) -> Result<i64> {
        Ok(on_pool!(self.0, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM sessions WHERE expires_at > $1"
        )
        .bind(now_ms())
        .fetch_one(pool)
        .await)?)
    }

    /// Removes expired sessions; returns the people whose signed-in sessions
    /// these were (one entry per session), for the audit log.
    pub async fn delete_expired(&self) -> Result<Vec<String>> {
        let people: Vec<Option<String>> = on_pool!(self.0, |pool| sqlx::query_scalar(
            "DELETE FROM sessions WHERE expires_at <= $1 RETURNING person"
        )
        .bind(now_ms())
        .fetch_all(pool)
        .await)?;
        Ok(people.into_iter().flatten().collect())
    }
}
