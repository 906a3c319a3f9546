//! The root key version the database works under, and keeping the in-memory
//! keyring in step with the key files on disk.
//!
//! `vault_root_key.active_version` is the version new secrets are wrapped under.
//! Rotation raises it only after the new key file is on disk, and before it
//! re-wraps any row; key creation inserts only while the version it wrapped under
//! is still the active one. So once a rotation has re-wrapped the last row under
//! an old version, no row can appear under it again, and its file can go.

use std::sync::{atomic::Ordering, Arc};

use super::{RootKeyring, Vault};
use crate::{
    store::{on_pool, Store},
    Error, Result,
};

/// The error for a row wrapped under a version whose file is not on disk.
pub(crate) fn missing_version(keyring: &RootKeyring, version: u32) -> Error {
    Error::RootKey {
        path: keyring.path_of(version),
        problem: format!(
            "is missing, yet the database holds keys wrapped under root key version {version}; \
             restore it from the backup of the key files"
        ),
    }
}

/// The database's active root key version, or `None` before the vault first ran.
pub(crate) async fn read_active_version(store: &Store) -> Result<Option<u32>> {
    let version: Option<i64> = on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT active_version FROM vault_root_key WHERE id = 1"
    )
    .fetch_optional(pool)
    .await)?;
    version.map(to_version).transpose()
}

/// Records `initial` as the active version on a database that has none yet and
/// returns the active version.
pub(crate) async fn init_active_version(store: &Store, initial: u32) -> Result<u32> {
    on_pool!(store, |pool| sqlx::query(
        "INSERT INTO vault_root_key (id, active_version) VALUES (1, $1) \
         ON CONFLICT (id) DO NOTHING"
    )
    .bind(i64::from(initial))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    read_active_version(store).await?.ok_or(Error::Crypto(
        "the vault's root key version could not be recorded",
    ))
}

/// Raises the active version to `to` (never lowers it). On PostgreSQL this waits
/// for key creations still holding the old version (`FOR SHARE`).
pub(crate) async fn raise_active_version(store: &Store, to: u32) -> Result<()> {
    on_pool!(store, |pool| sqlx::query(
        "UPDATE vault_root_key SET active_version = $1 WHERE id = 1 AND active_version < $1"
    )
    .bind(i64::from(to))
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Every root key version some stored wrapped secret is under.
pub(crate) async fn versions_in_use(store: &Store) -> Result<Vec<u32>> {
    let versions: Vec<i64> = on_pool!(store, |pool| sqlx::query_scalar(
        "SELECT DISTINCT root_key_version FROM identity_keys WHERE wrapped_secret IS NOT NULL \
         UNION SELECT DISTINCT root_key_version FROM vault_keys"
    )
    .fetch_all(pool)
    .await)?;
    let mut versions = versions
        .into_iter()
        .map(to_version)
        .collect::<Result<Vec<_>>>()?;
    versions.sort_unstable();
    Ok(versions)
}

pub(crate) fn to_version(v: i64) -> Result<u32> {
    u32::try_from(v)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or(Error::Invalid {
            field: "root_key_version",
            problem: "a stored root key version is out of range".into(),
        })
}

impl Vault {
    /// The version new secrets are wrapped under, as last read from the database.
    pub(crate) fn active_version(&self) -> u32 {
        self.active.load(Ordering::Acquire)
    }

    /// Re-reads the active version (another process may have rotated).
    pub(crate) async fn refresh_active_version(&self) -> Result<u32> {
        let version = read_active_version(&self.store)
            .await?
            .ok_or(Error::Crypto(
                "the vault's root key version is not recorded",
            ))?;
        self.active.fetch_max(version, Ordering::AcqRel);
        Ok(self.active_version())
    }

    /// The current keyring.
    pub(crate) fn keyring(&self) -> Arc<RootKeyring> {
        match self.keyring.read() {
            Ok(ring) => Arc::clone(&ring),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A keyring holding `version`: the current one, or, when another process (a
    /// `portico keys rotate`) wrote a version since, one reloaded from disk.
    pub(crate) fn keyring_with(&self, version: u32) -> Result<Arc<RootKeyring>> {
        let ring = self.keyring();
        if ring.get(version).is_some() {
            return Ok(ring);
        }
        let reloaded = self.reload_keyring()?;
        if reloaded.get(version).is_some() {
            Ok(reloaded)
        } else {
            Err(missing_version(&reloaded, version))
        }
    }

    /// Reloads the keyring from its files and makes it current.
    pub(crate) fn reload_keyring(&self) -> Result<Arc<RootKeyring>> {
        let fresh = Arc::new(RootKeyring::load(self.keyring().file())?);
        let mut slot = match self.keyring.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::clone(&fresh);
        Ok(fresh)
    }
}
