//! The directory: finding an identity by email address without storing the
//! address in the clear, and keeping the address sealed so notifications can be
//! addressed later.
//!
//! - Look-ups use `identities.email_digest = HMAC-SHA256(lookup key, address)`.
//!   A keyed digest, not a plain hash: without the key, a copy of the database
//!   cannot be searched for a known address.
//! - The address itself is kept only in `identities.email_sealed`, sealed under
//!   the directory key with the identity id as associated data.
//!
//! Both keys are 32 random bytes made on first use and stored only wrapped under
//! the root key (`vault_keys`). Rotation re-wraps them without changing them, so
//! digests stay the same across rotations.

use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{
    state,
    wrap::{self, Binding},
    NormalizedEmail, RootKeyring, Vault,
};
use crate::{
    store::{now_ms, on_pool, Backend, Identity, Store},
    Error, Result,
};

/// The vault's own keys, unwrapped once when the vault opens. Zeroed when dropped.
pub(crate) struct DirectoryKeys {
    lookup: Zeroizing<[u8; 32]>,
    pub(super) directory: Zeroizing<[u8; 32]>,
}

/// Names of the rows in `vault_keys`.
pub(crate) const LOOKUP: &str = "lookup";
pub(crate) const DIRECTORY: &str = "directory";

impl DirectoryKeys {
    /// Loads both keys, making each on first use.
    pub(crate) async fn load(store: &Store, keyring: &RootKeyring, active: u32) -> Result<Self> {
        Ok(Self {
            lookup: vault_key(store, keyring, LOOKUP, active).await?,
            directory: vault_key(store, keyring, DIRECTORY, active).await?,
        })
    }
}

/// Reads (or makes, then reads) one vault key. Racing makers end with one key.
async fn vault_key(
    store: &Store,
    keyring: &RootKeyring,
    name: &'static str,
    active: u32,
) -> Result<Zeroizing<[u8; 32]>> {
    for _ in 0..2 {
        let row: Option<(Vec<u8>, i64)> = on_pool!(store, |pool| sqlx::query_as(
            "SELECT wrapped_key, root_key_version FROM vault_keys WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await)?;
        if let Some((wrapped, version)) = row {
            return open_vault_key(keyring, name, state::to_version(version)?, &wrapped);
        }
        let mut fresh = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut fresh[..]);
        let root = keyring
            .get(active)
            .ok_or_else(|| state::missing_version(keyring, active))?;
        let wrapped = wrap::wrap(root.bytes(), &Binding::vault_key(name, active), &fresh[..])?;
        let sql = match store.backend() {
            Backend::Sqlite => INSERT_VAULT_KEY_SQLITE,
            Backend::Postgres => INSERT_VAULT_KEY_POSTGRES,
        };
        on_pool!(store, |pool| sqlx::query(sql)
            .bind(name)
            .bind(&wrapped)
            .bind(i64::from(active))
            .bind(now_ms())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Err(Error::Crypto(
        "a vault key could not be created: the root key version changed",
    ))
}

/// Opens a wrapped vault key.
pub(crate) fn open_vault_key(
    keyring: &RootKeyring,
    name: &str,
    version: u32,
    wrapped: &[u8],
) -> Result<Zeroizing<[u8; 32]>> {
    let root = keyring
        .get(version)
        .ok_or_else(|| state::missing_version(keyring, version))?;
    let plain = wrap::unwrap(root.bytes(), &Binding::vault_key(name, version), wrapped)?;
    let mut key = Zeroizing::new([0u8; 32]);
    if plain.len() != key.len() {
        return Err(Error::Crypto("an unwrapped vault key is malformed"));
    }
    key.copy_from_slice(&plain);
    Ok(key)
}

/// As for identity keys: insert only while `$3` is the active root key version.
const INSERT_VAULT_KEY_SQLITE: &str =
    "INSERT INTO vault_keys (name, wrapped_key, root_key_version, created_at) \
     SELECT $1, $2, $3, $4 FROM vault_root_key WHERE id = 1 AND active_version = $3 \
     ON CONFLICT (name) DO NOTHING";
const INSERT_VAULT_KEY_POSTGRES: &str =
    "INSERT INTO vault_keys (name, wrapped_key, root_key_version, created_at) \
     SELECT $1, $2, $3, $4 FROM vault_root_key WHERE id = 1 AND active_version = $3 \
     FOR SHARE ON CONFLICT (name) DO NOTHING";

impl Vault {
    /// The keyed digest identities are found by: HMAC-SHA256 of the normalized
    /// address under the lookup key.
    pub fn email_digest(&self, email: &NormalizedEmail) -> [u8; 32] {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.directory.lookup[..]) {
            Ok(mac) => mac,
            // HMAC takes a key of any length.
            Err(_) => unreachable!("HMAC accepts a 32-byte key"),
        };
        mac.update(email.as_str().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A MAC for another purpose under the lookup key (one-time codes, say),
    /// domain-separated from email digests and from every other purpose: the
    /// purpose tag goes first, then each part with its length.
    pub(crate) fn keyed_mac(&self, purpose: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.directory.lookup[..]) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts a 32-byte key"),
        };
        // A NUL never occurs in a normalized email, so no digest input collides.
        mac.update(b"\0portico-purpose\0");
        for part in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    /// The identity for this address, made on first use with its address sealed.
    pub async fn identity_for_email(&self, email: &NormalizedEmail) -> Result<Identity> {
        let identity = self
            .store()
            .identities()
            .find_or_create(&self.email_digest(email))
            .await?;
        let sealed: Option<Option<Vec<u8>>> = on_pool!(self.store(), |pool| sqlx::query_scalar(
            "SELECT email_sealed FROM identities WHERE id = $1"
        )
        .bind(&identity.id)
        .fetch_optional(pool)
        .await)?;
        if let Some(None) = sealed {
            let sealed = wrap::wrap(
                &self.directory.directory,
                &Binding::identity_email(&identity.id),
                email.as_str().as_bytes(),
            )?;
            on_pool!(self.store(), |pool| sqlx::query(
                "UPDATE identities SET email_sealed = $1 WHERE id = $2 AND email_sealed IS NULL"
            )
            .bind(&sealed)
            .bind(&identity.id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        }
        Ok(identity)
    }

    /// The identity for this address if there is one; makes nothing, so a sign-in
    /// form can answer alike for known and unknown addresses.
    pub async fn find_identity(&self, email: &NormalizedEmail) -> Result<Option<Identity>> {
        let digest = self.email_digest(email);
        Ok(on_pool!(self.store(), |pool| {
            sqlx::query_as::<_, Identity>(
                "SELECT id, email_digest, created_at FROM identities WHERE email_digest = $1",
            )
            .bind(&digest[..])
            .fetch_optional(pool)
            .await
        })?)
    }

    /// The address of an identity, to send it a notification.
    /// [`Error::NotFound`] for an unknown identity or one whose address was not kept.
    pub async fn email_of(&self, identity_id: &str) -> Result<NormalizedEmail> {
        let sealed: Option<Option<Vec<u8>>> = on_pool!(self.store(), |pool| sqlx::query_scalar(
            "SELECT email_sealed FROM identities WHERE id = $1"
        )
        .bind(identity_id)
        .fetch_optional(pool)
        .await)?;
        let sealed = sealed.flatten().ok_or(Error::NotFound)?;
        let plain = wrap::unwrap(
            &self.directory.directory,
            &Binding::identity_email(identity_id),
            &sealed,
        )?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| Error::Crypto("a sealed address is malformed"))?;
        NormalizedEmail::parse(text)
    }
}
