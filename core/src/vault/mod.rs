//! The vault: identity-based encryption with age, with the portal as key server.
//! A sender needs only the recipient's email address; the vault finds (or makes)
//! that identity and its key pair, and seals items to it.
//!
//! What is kept where:
//! - the root key: a file outside the database ([`root_key`]);
//! - per owner (patient identity or organization mailbox), an age X25519 key pair,
//!   its secret half only wrapped under the root key ([`keys`]);
//! - the lookup key (for `identities.email_digest`) and the directory key (for the
//!   sealed address), wrapped the same way ([`directory`]);
//! - items (messages, attachments, EOBs) in age format, sealed to their owners'
//!   public keys ([`items`]); rotation re-wraps keys and never touches items
//!   ([`rotation`]); erasure destroys one owner's secret ([`Vault::erase`]).
//!
//! Plaintext is returned in zeroizing buffers and never written to disk, logs or
//! caches here. Unwrapping an owner's key is one symmetric AEAD operation and a
//! parse (microseconds): there is no cache of unwrapped secret keys. Opening reads
//! the owner's row each time, which is what makes an erasure take effect at once
//! on every portal instance; a cache would keep secrets in memory to save only the
//! unwrap. Public keys (not secret) are cached, so sealing reads nothing.

mod batch;
pub mod directory;
mod email;
pub mod items;
pub mod keys;
mod public_keys;
pub mod root_key;
pub mod rotation;
mod state;
mod wrap;

use std::sync::{atomic::AtomicU32, Arc, RwLock};

pub use email::NormalizedEmail;
pub use items::Recipients;
pub use keys::{KeyOwner, KeyState, ReaderKey, WrappedKey};
pub use root_key::{RootKey, RootKeyring, ROOT_KEY_FILE};
pub use rotation::{RotateOptions, RotationReport};

use crate::{store::Store, Result};

/// The vault over one database and one root keyring. Share one per process.
pub struct Vault {
    store: Store,
    keyring: RwLock<Arc<RootKeyring>>,
    /// The database's active root key version, as last read.
    active: AtomicU32,
    directory: directory::DirectoryKeys,
    public_keys: public_keys::PublicKeyCache,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("keyring", &self.keyring())
            .field("active_version", &self.active_version())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Loads the vault on a migrated database. On a new database it records the
    /// keyring's active version and makes the lookup and directory keys. Then it
    /// checks that every root key version the database uses has its file, and that
    /// the key files are the right ones (the vault keys must unwrap), so a wrong or
    /// missing key file stops the portal at start rather than at the first view.
    pub async fn load(store: Store, keyring: RootKeyring) -> Result<Self> {
        let active = state::init_active_version(&store, keyring.active().version()).await?;
        for version in state::versions_in_use(&store)
            .await?
            .into_iter()
            .chain([active])
        {
            if keyring.get(version).is_none() {
                return Err(state::missing_version(&keyring, version));
            }
        }
        let directory = directory::DirectoryKeys::load(&store, &keyring, active).await?;
        Ok(Self {
            store,
            keyring: RwLock::new(Arc::new(keyring)),
            active: AtomicU32::new(active),
            directory,
            public_keys: Default::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The root key versions loaded now, lowest first.
    pub fn root_key_versions(&self) -> Vec<u32> {
        self.keyring().versions()
    }

    fn set_keyring(&self, ring: Arc<RootKeyring>) {
        let mut slot = match self.keyring.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = ring;
    }
}

/// Hooks for the benchmark: wrapping and unwrapping an identity key without the
/// database. Built only with the `testing` feature; not part of the portal.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod measure {
    use super::{keys, KeyOwner, ReaderKey, RootKeyring};
    use crate::Result;

    /// A fresh identity key for `owner`, wrapped under the keyring's active version.
    pub fn wrapped_identity_key(keyring: &RootKeyring, owner: &KeyOwner) -> Result<Vec<u8>> {
        let identity = age::x25519::Identity::generate();
        keys::wrap_secret(keyring, owner, keyring.active().version(), &identity)
    }

    /// Unwraps what [`wrapped_identity_key`] made, as opening an item does.
    pub fn unwrap_identity_key(
        keyring: &RootKeyring,
        owner: &KeyOwner,
        wrapped: &[u8],
    ) -> Result<ReaderKey> {
        let identity = keys::unwrap_secret(keyring, owner, keyring.active().version(), wrapped)?;
        Ok(ReaderKey {
            owner: owner.clone(),
            identity,
        })
    }
}
