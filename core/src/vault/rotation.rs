//! Rotation: a new root key version, and every wrapped secret re-wrapped under it.
//! Item ciphertext is never touched: items are sealed to identity keys, which do
//! not change, only the root key they are wrapped under does.
//!
//! Order, so that a crash anywhere loses nothing and a rerun finishes the work:
//! 1. the new version's file is written and fsynced (see [`RootKeyring`]);
//! 2. the database's active version is raised, so new keys are wrapped under it;
//! 3. rows still under an older version are re-wrapped in batches, each batch one
//!    transaction, each row recording the version it is now under;
//! 4. an old version's file is deleted only once no row is wrapped under it.
//!
//! A rerun finds rows under an older version, or a key file newer than the
//! database's active version, and resumes with the active version instead of
//! making another.

use super::{
    directory::open_vault_key,
    keys::{unwrap_secret, wrap_secret},
    state,
    wrap::{self, Binding},
    KeyOwner, RootKeyring, Vault,
};
use crate::{
    store::{multi_row::BeginWrite, on_pool},
    Result,
};

/// How a rotation runs.
#[derive(Clone, Copy, Debug)]
pub struct RotateOptions {
    /// Rows re-wrapped per transaction.
    pub batch_size: u32,
    /// Stop after this many batches, leaving the rest for a later run (to spread
    /// the work out, and for tests to simulate a rotation killed midway).
    pub max_batches: Option<u32>,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            max_batches: None,
        }
    }
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    /// The root key version everything is (or is being) wrapped under.
    pub version: u32,
    /// Whether this run continued an unfinished rotation rather than start one.
    pub resumed: bool,
    /// Wrapped secrets moved to `version` by this run.
    pub rewrapped: u64,
    /// Batches committed by this run.
    pub batches: u32,
    /// Whether every row is now under `version`; if not, run again to finish.
    pub finished: bool,
    /// Old versions whose key files this run deleted.
    pub retired: Vec<u32>,
}

impl Vault {
    /// Rotates the root key (or finishes an unfinished rotation); see the module
    /// notes for the order of the steps. Safe to run while the portal serves.
    pub async fn rotate(&self, options: RotateOptions) -> Result<RotationReport> {
        let batch_size = options.batch_size.max(1);
        let mut keyring = self.reload_keyring()?;
        let db_active = self.refresh_active_version().await?;
        if keyring.active().version() < db_active {
            return Err(state::missing_version(&keyring, db_active));
        }
        let stale = state::versions_in_use(self.store())
            .await?
            .into_iter()
            .any(|v| v != db_active);
        let resumed = stale || keyring.active().version() > db_active;
        if !resumed {
            keyring = std::sync::Arc::new(keyring.add_version()?);
            self.set_keyring(std::sync::Arc::clone(&keyring));
        }
        let target = keyring.active().version();
        state::raise_active_version(self.store(), target).await?;
        self.refresh_active_version().await?;
        tracing::info!(version = target, resumed, "root key rotation: re-wrapping");

        let mut report = RotationReport {
            version: target,
            resumed,
            rewrapped: 0,
            batches: 0,
            finished: false,
            retired: Vec::new(),
        };
        report.rewrapped += self.rewrap_vault_keys(&keyring, target).await?;
        loop {
            if options.max_batches.is_some_and(|max| report.batches >= max) {
                let left = state::versions_in_use(self.store()).await?;
                if left.iter().any(|v| *v != target) {
                    tracing::info!(
                        version = target,
                        report.rewrapped,
                        "root key rotation: paused"
                    );
                    return Ok(report);
                }
                break;
            }
            let (seen, moved) = self.rewrap_batch(&keyring, target, batch_size).await?;
            if seen == 0 {
                break;
            }
            report.batches += 1;
            report.rewrapped += moved;
        }

        let in_use = state::versions_in_use(self.store()).await?;
        for version in keyring.versions() {
            if version != target && !in_use.contains(&version) {
                keyring.retire(version)?;
                report.retired.push(version);
            }
        }
        report.finished = in_use.iter().all(|v| *v == target);
        self.reload_keyring()?;
        tracing::info!(
            version = target,
            report.rewrapped,
            retired = ?report.retired,
            "root key rotation: done"
        );
        Ok(report)
    }

    /// Re-wraps the lookup and directory keys (two rows) in one transaction.
    async fn rewrap_vault_keys(&self, keyring: &RootKeyring, target: u32) -> Result<u64> {
        let target_key = keyring
            .get(target)
            .ok_or_else(|| state::missing_version(keyring, target))?;
        on_pool!(self.store(), |pool| {
            let mut tx = pool.begin_write().await?;
            let rows: Vec<(String, Vec<u8>, i64)> = sqlx::query_as(
                "SELECT name, wrapped_key, root_key_version FROM vault_keys \
                 WHERE root_key_version <> $1 ORDER BY name",
            )
            .bind(i64::from(target))
            .fetch_all(&mut *tx)
            .await?;
            let mut moved = 0;
            for (name, wrapped, version) in rows {
                let version = state::to_version(version)?;
                let key = open_vault_key(keyring, &name, version, &wrapped)?;
                let rewrapped = wrap::wrap(
                    target_key.bytes(),
                    &Binding::vault_key(&name, target),
                    &key[..],
                )?;
                moved += sqlx::query(
                    "UPDATE vault_keys SET wrapped_key = $1, root_key_version = $2 \
                     WHERE name = $3 AND root_key_version = $4",
                )
                .bind(&rewrapped)
                .bind(i64::from(target))
                .bind(&name)
                .bind(i64::from(version))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok(moved)
        })
    }

    /// Re-wraps up to `limit` identity keys still under an older version, in one
    /// transaction; returns the rows found and the rows moved. An update applies
    /// only if the row is unchanged since it was read, so a concurrent erasure is
    /// never undone.
    async fn rewrap_batch(
        &self,
        keyring: &RootKeyring,
        target: u32,
        limit: u32,
    ) -> Result<(u64, u64)> {
        on_pool!(self.store(), |pool| {
            let mut tx = pool.begin_write().await?;
            let rows: Vec<(String, String, Vec<u8>, i64)> = sqlx::query_as(
                "SELECT owner_kind, owner_id, wrapped_secret, root_key_version FROM identity_keys \
                 WHERE wrapped_secret IS NOT NULL AND root_key_version <> $1 \
                 ORDER BY owner_kind, owner_id LIMIT $2",
            )
            .bind(i64::from(target))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            let seen = rows.len() as u64;
            let mut moved = 0;
            for (kind, id, wrapped, version) in rows {
                let version = state::to_version(version)?;
                let owner = KeyOwner::from_row(&kind, id)?;
                let identity = unwrap_secret(keyring, &owner, version, &wrapped)?;
                let rewrapped = wrap_secret(keyring, &owner, target, &identity)?;
                moved += sqlx::query(
                    "UPDATE identity_keys SET wrapped_secret = $1, root_key_version = $2 \
                     WHERE owner_kind = $3 AND owner_id = $4 AND root_key_version = $5 \
                     AND wrapped_secret IS NOT NULL",
                )
                .bind(&rewrapped)
                .bind(i64::from(target))
                .bind(owner.kind())
                .bind(owner.id())
                .bind(i64::from(version))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok((seen, moved))
        })
    }
}
