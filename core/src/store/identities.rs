//! Identities: one per recipient (a normalized email address), across every
//! organization that writes to them. The address itself is never stored in the
//! clear: rows are found by a keyed digest of it (the vault computes the digest).

use super::{new_id, now_ms, on_pool, Store};
use crate::{Error, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Identity {
    pub id: String,
    /// Keyed digest of the normalized email address, for look-ups.
    pub email_digest: Vec<u8>,
    pub created_at: i64,
}

/// The identities table.
pub struct Identities<'a>(pub(super) &'a Store);

impl Identities<'_> {
    /// The identity for this digest, created on first use. Two callers racing on
    /// the same digest get the same row.
    pub async fn find_or_create(&self, email_digest: &[u8]) -> Result<Identity> {
        if email_digest.len() != 32 {
            return Err(Error::Invalid {
                field: "email_digest",
                problem: "must be 32 bytes".into(),
            });
        }
        on_pool!(self.0, |pool| {
            sqlx::query(
                "INSERT INTO identities (id, email_digest, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (email_digest) DO NOTHING",
            )
            .bind(new_id())
            .bind(email_digest)
            .bind(now_ms())
            .execute(pool)
            .await?;
            sqlx::query_as::<_, Identity>(
                "SELECT id, email_digest, created_at FROM identities WHERE email_digest = $1",
            )
            .bind(email_digest)
            .fetch_one(pool)
            .await
        })
        .map_err(Error::from)
    }

    pub async fn get(&self, id: &str) -> Result<Identity> {
        on_pool!(self.0, |pool| sqlx::query_as::<_, Identity>(
            "SELECT id, email_digest, created_at FROM identities WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?
        .ok_or(Error::NotFound)
    }
}
