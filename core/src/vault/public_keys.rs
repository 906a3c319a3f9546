//! A bounded in-memory cache of owners' public keys, so that sealing an item does
//! not read the database once per recipient. Public keys are not secret and never
//! change while their owner exists; erasure is the only change, and `erase`
//! forgets the key here.
//!
//! Another portal instance's erasure is not seen until the entry is evicted: until
//! then this instance may still seal new items to the erased owner's public key.
//! Nothing leaks by that: the matching secret is destroyed, so no one can open the
//! erased owner's copy, and opening always reads the database, so an erased owner
//! never reads anything. No secret key is cached: opening pays one database read,
//! which also makes an erasure take effect at once everywhere.

use std::{collections::HashMap, sync::Mutex};

use super::KeyOwner;

/// How many owners' public keys are kept (about 100 bytes each). When full the
/// cache starts over: simple, bounded, and rare.
const CAPACITY: usize = 16_384;

#[derive(Default)]
pub(crate) struct PublicKeyCache {
    keys: Mutex<HashMap<KeyOwner, age::x25519::Recipient>>,
}

impl PublicKeyCache {
    pub(crate) fn get(&self, owner: &KeyOwner) -> Option<age::x25519::Recipient> {
        self.lock().get(owner).cloned()
    }

    pub(crate) fn insert(&self, owner: &KeyOwner, key: &age::x25519::Recipient) {
        let mut keys = self.lock();
        if keys.len() >= CAPACITY {
            keys.clear();
        }
        keys.insert(owner.clone(), key.clone());
    }

    pub(crate) fn forget(&self, owner: &KeyOwner) {
        self.lock().remove(owner);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<KeyOwner, age::x25519::Recipient>> {
        match self.keys.lock() {
            Ok(keys) => keys,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}
