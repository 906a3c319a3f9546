//! Many new recipients at once, for bulk publishing: the identities of a
//! batch's new addresses, their sealed addresses and their key pairs, written
//! in one transaction (one disk sync) rather than three per address.
//!
//! Anything this does not make (a race lost, a root key rotation begun) is
//! made later one at a time by [`Vault::identity_for_email`] and
//! [`Vault::public_key`], which stay the rule; this is only faster.

use std::collections::HashMap;

use super::{
    keys::{wrap_secret, INSERT_KEY_POSTGRES, INSERT_KEY_SQLITE},
    wrap::{self, Binding},
    KeyOwner, NormalizedEmail, Vault,
};
use crate::{
    store::{
        multi_row::{chunks, values, Placeholders},
        new_id, now_ms, on_pool, Backend,
    },
    Result,
};

impl Vault {
    /// The identity id of each address, made (with its key pair) for those
    /// that have none; keyed by the normalized address.
    pub async fn identities_for_emails(
        &self,
        emails: &[NormalizedEmail],
    ) -> Result<HashMap<String, String>> {
        let mut found = self.find_identities(emails).await?;
        let missing: Vec<&NormalizedEmail> = emails
            .iter()
            .filter(|e| !found.contains_key(e.as_str()))
            .collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let version = self.active_version();
        let keyring = self.keyring_with(version)?;
        let mut rows = Vec::with_capacity(missing.len());
        for email in &missing {
            let id = new_id();
            let sealed = wrap::wrap(
                &self.directory.directory,
                &Binding::identity_email(&id),
                email.as_str().as_bytes(),
            )?;
            let key = age::x25519::Identity::generate();
            let public = key.to_public();
            let owner = KeyOwner::Identity(id.clone());
            let wrapped = wrap_secret(&keyring, &owner, version, &key)?;
            rows.push((id, self.email_digest(email), sealed, public, wrapped));
        }
        let insert_key = match self.store().backend() {
            Backend::Sqlite => INSERT_KEY_SQLITE,
            Backend::Postgres => INSERT_KEY_POSTGRES,
        };
        let now = now_ms();
        let made = on_pool!(self.store(), |pool| {
            let mut tx = pool.begin().await?;
            let mut keyed_rows = Vec::with_capacity(rows.len());
            for (id, digest, sealed, public, wrapped) in &rows {
                let made = sqlx::query(
                    "INSERT INTO identities (id, email_digest, created_at, email_sealed) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (email_digest) DO NOTHING",
                )
                .bind(id)
                .bind(digest.as_slice())
                .bind(now)
                .bind(sealed)
                .execute(&mut *tx)
                .await?;
                // Another writer made this identity first: its key is its own.
                if made.rows_affected() == 1 {
                    let keyed = sqlx::query(insert_key)
                        .bind("identity")
                        .bind(id)
                        .bind(public.to_string())
                        .bind(wrapped)
                        .bind(i64::from(version))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    keyed_rows.push(keyed.rows_affected() == 1);
                } else {
                    keyed_rows.push(false);
                }
            }
            tx.commit().await.map(|()| keyed_rows)
        })?;
        // What this made is known without reading it back; the rest (a race
        // lost, a rotation begun) goes the usual way.
        let mut left = Vec::new();
        for (email, ((id, _, _, public, _), keyed)) in
            missing.into_iter().zip(rows.iter().zip(made))
        {
            if keyed {
                self.public_keys
                    .insert(&KeyOwner::Identity(id.clone()), public);
                found.insert(email.as_str().to_owned(), id.clone());
            } else {
                left.push(email);
            }
        }
        for email in left {
            let id = match self.find_identity(email).await? {
                Some(identity) => identity.id,
                None => self.identity_for_email(email).await?.id,
            };
            found.insert(email.as_str().to_owned(), id);
        }
        Ok(found)
    }

    /// The identity ids of those addresses that have one, keyed by the
    /// normalized address: one query for up to 64 addresses.
    async fn find_identities(&self, emails: &[NormalizedEmail]) -> Result<HashMap<String, String>> {
        let placeholders = match self.store().backend() {
            Backend::Sqlite => Placeholders::Anonymous,
            Backend::Postgres => Placeholders::Numbered,
        };
        let by_digest: HashMap<[u8; 32], &NormalizedEmail> =
            emails.iter().map(|e| (self.email_digest(e), e)).collect();
        let digests: Vec<&[u8; 32]> = by_digest.keys().collect();
        let mut found = HashMap::new();
        for (_, chunk) in chunks(&digests) {
            let sql = format!(
                "SELECT id, email_digest FROM identities WHERE email_digest IN {}",
                values(1, chunk.len(), placeholders)
            );
            let rows: Vec<(String, Vec<u8>)> = on_pool!(self.store(), |pool| {
                let mut query = sqlx::query_as(&sql);
                for digest in chunk {
                    query = query.bind(digest.as_slice());
                }
                query.fetch_all(pool).await
            })?;
            for (id, digest) in rows {
                let email = <[u8; 32]>::try_from(digest.as_slice())
                    .ok()
                    .and_then(|d| by_digest.get(&d));
                if let Some(email) = email {
                    found.insert(email.as_str().to_owned(), id);
                }
            }
        }
        Ok(found)
    }
}
