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
    store::{new_id, now_ms, on_pool, Backend},
    Result,
};

impl Vault {
    /// The identity id of each address, made (with its key pair) for those
    /// that have none; keyed by the normalized address.
    pub async fn identities_for_emails(
        &self,
        emails: &[NormalizedEmail],
    ) -> Result<HashMap<String, String>> {
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        for email in emails {
            match self.find_identity(email).await? {
                Some(identity) => {
                    found.insert(email.as_str().to_owned(), identity.id);
                }
                None => missing.push(email),
            }
        }
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
            let public = key.to_public().to_string();
            let owner = KeyOwner::Identity(id.clone());
            let wrapped = wrap_secret(&keyring, &owner, version, &key)?;
            rows.push((id, self.email_digest(email), sealed, public, wrapped));
        }
        let insert_key = match self.store().backend() {
            Backend::Sqlite => INSERT_KEY_SQLITE,
            Backend::Postgres => INSERT_KEY_POSTGRES,
        };
        let now = now_ms();
        on_pool!(self.store(), |pool| {
            let mut tx = pool.begin().await?;
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
                    sqlx::query(insert_key)
                        .bind("identity")
                        .bind(id)
                        .bind(public)
                        .bind(wrapped)
                        .bind(i64::from(version))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await
        })?;
        for email in missing {
            let id = match self.find_identity(email).await? {
                Some(identity) => identity.id,
                None => self.identity_for_email(email).await?.id,
            };
            found.insert(email.as_str().to_owned(), id);
        }
        Ok(found)
    }
}
