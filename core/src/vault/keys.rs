//! Identity keys: one age X25519 key pair per owner, where an owner is a recipient
//! identity (a patient's address) or an organization mailbox (a department). The
//! public half is stored as is; the secret half only wrapped under the root key
//! (XChaCha20-Poly1305), bound to its owner and root key version.
//!
//! A key pair is made the first time anything is sealed to its owner. Erasing an
//! owner destroys the wrapped secret (crypto-shredding): every item sealed to
//! that owner becomes unreadable to them, and opening one says so
//! ([`Error::Erased`]) rather than failing obscurely.

use std::{fmt, str::FromStr};

use age::secrecy::ExposeSecret;

use super::{
    state,
    wrap::{self, Binding},
    RootKeyring, Vault,
};
use crate::{
    store::{now_ms, on_pool, Backend},
    Error, Result,
};

/// Whose key a key pair is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyOwner {
    /// A recipient identity (one patient, one normalized email address), by id.
    Identity(String),
    /// An organization mailbox (a department that writes and reads threads), by id.
    Mailbox(String),
}

impl KeyOwner {
    /// How the owner kind is written in `identity_keys.owner_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            KeyOwner::Identity(_) => "identity",
            KeyOwner::Mailbox(_) => "mailbox",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            KeyOwner::Identity(id) | KeyOwner::Mailbox(id) => id,
        }
    }

    pub(crate) fn from_row(kind: &str, id: String) -> Result<Self> {
        match kind {
            "identity" => Ok(KeyOwner::Identity(id)),
            "mailbox" => Ok(KeyOwner::Mailbox(id)),
            _ => Err(Error::Invalid {
                field: "owner_kind",
                problem: "unknown owner kind in identity_keys".into(),
            }),
        }
    }

    fn binding(&self, version: u32) -> Binding {
        Binding::identity_key(self.kind(), self.id(), version)
    }
}

/// Where an owner's key stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Nothing was ever sealed to this owner.
    Missing,
    /// The key opens; its secret is wrapped under this root key version.
    Active { root_key_version: u32 },
    /// The secret was destroyed at this time (Unix milliseconds).
    Erased { at: i64 },
}

/// An owner's secret key, unwrapped to open items for one request. Zeroed when
/// dropped (the age identity wipes its scalar); `Debug` names the owner only.
#[derive(Clone)]
pub struct ReaderKey {
    pub(super) owner: KeyOwner,
    pub(super) identity: age::x25519::Identity,
}

impl ReaderKey {
    pub fn owner(&self) -> &KeyOwner {
        &self.owner
    }
}

impl fmt::Debug for ReaderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderKey")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// An owner's row of `identity_keys` as another query fetched it (its
/// `wrapped_secret`, `root_key_version` and `erased_at`, from a `LEFT JOIN`
/// on `owner_kind` and `owner_id`): all `None` when the owner has no key.
#[derive(Clone, Default)]
pub struct WrappedKey {
    pub wrapped_secret: Option<Vec<u8>>,
    pub root_key_version: Option<i64>,
    pub erased_at: Option<i64>,
}

/// One row of `identity_keys`, as read.
#[derive(sqlx::FromRow)]
struct KeyRow {
    public_key: Option<String>,
    wrapped_secret: Option<Vec<u8>>,
    root_key_version: i64,
    erased_at: Option<i64>,
}

/// Wraps a freshly made secret for `owner` under root key `version`.
pub(crate) fn wrap_secret(
    keyring: &RootKeyring,
    owner: &KeyOwner,
    version: u32,
    identity: &age::x25519::Identity,
) -> Result<Vec<u8>> {
    let root = keyring
        .get(version)
        .ok_or_else(|| state::missing_version(keyring, version))?;
    let encoded = identity.to_string();
    wrap::wrap(
        root.bytes(),
        &owner.binding(version),
        encoded.expose_secret().as_bytes(),
    )
}

/// Opens `owner`'s wrapped secret: one AEAD operation and a parse, no X25519.
pub(crate) fn unwrap_secret(
    keyring: &RootKeyring,
    owner: &KeyOwner,
    version: u32,
    wrapped: &[u8],
) -> Result<age::x25519::Identity> {
    let root = keyring
        .get(version)
        .ok_or_else(|| state::missing_version(keyring, version))?;
    let plain = wrap::unwrap(root.bytes(), &owner.binding(version), wrapped)?;
    let text = std::str::from_utf8(&plain)
        .map_err(|_| Error::Crypto("an unwrapped identity key is malformed"))?;
    age::x25519::Identity::from_str(text)
        .map_err(|_| Error::Crypto("an unwrapped identity key is malformed"))
}

fn version_of(row_version: i64) -> Result<u32> {
    u32::try_from(row_version).map_err(|_| Error::Invalid {
        field: "root_key_version",
        problem: "out of range in identity_keys".into(),
    })
}

impl Vault {
    /// Where `owner`'s key stands, without making one.
    pub async fn key_state(&self, owner: &KeyOwner) -> Result<KeyState> {
        Ok(match self.key_row(owner).await? {
            None => KeyState::Missing,
            Some(KeyRow {
                erased_at: Some(at),
                ..
            }) => KeyState::Erased { at },
            Some(row) => KeyState::Active {
                root_key_version: version_of(row.root_key_version)?,
            },
        })
    }

    /// The public key items for `owner` are sealed to, making the key pair on first
    /// use. Refuses an erased owner ([`Error::Erased`]): content sealed to a
    /// destroyed key could never be read by them. Served from a small in-memory
    /// cache once read; this process's [`Vault::erase`] clears the entry.
    pub async fn public_key(&self, owner: &KeyOwner) -> Result<age::x25519::Recipient> {
        if let Some(key) = self.public_keys.get(owner) {
            return Ok(key);
        }
        for _ in 0..3 {
            if let Some(row) = self.key_row(owner).await? {
                let (None, Some(public)) = (row.erased_at, row.public_key) else {
                    return Err(Error::Erased);
                };
                let key = age::x25519::Recipient::from_str(&public)
                    .map_err(|_| Error::Crypto("a stored public key is malformed"))?;
                self.public_keys.insert(owner, &key);
                return Ok(key);
            }
            self.create_key(owner).await?;
        }
        Err(Error::Crypto("a key pair could not be created"))
    }

    /// Unwraps `owner`'s secret key for opening items. [`Error::Erased`] when it was
    /// erased; [`Error::Crypto`] when there is none (nothing was sealed to them).
    pub async fn reader_key(&self, owner: &KeyOwner) -> Result<ReaderKey> {
        let row = self.key_row(owner).await?.map(|row| WrappedKey {
            wrapped_secret: row.wrapped_secret,
            root_key_version: Some(row.root_key_version),
            erased_at: row.erased_at,
        });
        self.reader_key_from(owner, row.unwrap_or_default())
    }

    /// As [`Vault::reader_key`], from `owner`'s row as a query of the caller's
    /// fetched it (joined to the items it opens, see [`WrappedKey`]): no lookup.
    pub fn reader_key_from(&self, owner: &KeyOwner, row: WrappedKey) -> Result<ReaderKey> {
        let Some(row_version) = row.root_key_version else {
            return Err(Error::Crypto("this item is not sealed to this reader"));
        };
        let (Some(wrapped), None) = (row.wrapped_secret, row.erased_at) else {
            return Err(Error::Erased);
        };
        let version = version_of(row_version)?;
        let keyring = self.keyring_with(version)?;
        let identity = unwrap_secret(&keyring, owner, version, &wrapped)?;
        Ok(ReaderKey {
            owner: owner.clone(),
            identity,
        })
    }

    /// Destroys `owner`'s secret key for good (crypto-shredding): the wrapped secret
    /// and public key are set to NULL and `erased_at` recorded. Items sealed to the
    /// owner stay in place for everyone else they were sealed to. An owner that had
    /// no key gets an erased row, so none is made later. Returns `false` when the
    /// owner was already erased. The caller audits the erasure.
    ///
    /// The database may keep old bytes of the wrapped secret for a while (SQLite free
    /// pages and WAL, PostgreSQL dead tuples, backups); they are wrapped under the
    /// root key, so the erasure is complete once the root key is next rotated and
    /// the old version's file retired.
    pub async fn erase(&self, owner: &KeyOwner) -> Result<bool> {
        self.public_keys.forget(owner);
        let now = now_ms();
        let version = i64::from(self.active_version());
        let changed = on_pool!(self.store(), |pool| {
            let updated = sqlx::query(
                "UPDATE identity_keys SET wrapped_secret = NULL, public_key = NULL, \
                 erased_at = $3 WHERE owner_kind = $1 AND owner_id = $2 AND erased_at IS NULL",
            )
            .bind(owner.kind())
            .bind(owner.id())
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected();
            if updated > 0 {
                Ok::<_, Error>(true)
            } else {
                let inserted = sqlx::query(
                    "INSERT INTO identity_keys (owner_kind, owner_id, public_key, wrapped_secret, \
                     root_key_version, created_at, erased_at) \
                     VALUES ($1, $2, NULL, NULL, $3, $4, $4) \
                     ON CONFLICT (owner_kind, owner_id) DO NOTHING",
                )
                .bind(owner.kind())
                .bind(owner.id())
                .bind(version)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
                Ok(inserted > 0)
            }
        })?;
        self.public_keys.forget(owner);
        if !changed {
            // Lost a race with a creator: erase what it just made.
            if let KeyState::Active { .. } = self.key_state(owner).await? {
                return Box::pin(self.erase(owner)).await;
            }
        }
        Ok(changed)
    }

    async fn key_row(&self, owner: &KeyOwner) -> Result<Option<KeyRow>> {
        const SQL: &str = "SELECT public_key, wrapped_secret, root_key_version, erased_at \
             FROM identity_keys WHERE owner_kind = $1 AND owner_id = $2";
        if let Some(readers) = self.store().sync_readers() {
            // In place: every statement and inbox opens a key.
            return readers.read(|conn| {
                use rusqlite::OptionalExtension;
                conn.prepare_cached(SQL)?
                    .query_row((owner.kind(), owner.id()), |r| {
                        Ok(KeyRow {
                            public_key: r.get(0)?,
                            wrapped_secret: r.get(1)?,
                            root_key_version: r.get(2)?,
                            erased_at: r.get(3)?,
                        })
                    })
                    .optional()
            });
        }
        Ok(on_pool!(self.store(), |pool| sqlx::query_as::<_, KeyRow>(
            SQL
        )
        .bind(owner.kind())
        .bind(owner.id())
        .fetch_optional(pool)
        .await)?)
    }

    /// Makes and stores a key pair for `owner` unless one exists. Two creators racing
    /// end with one key: the insert does nothing on conflict, and both then read the
    /// row that won. The insert also does nothing when the database's active root
    /// key version moved on (a rotation started); then the version is re-read and
    /// the key wrapped again, so no key is ever written under a version being retired.
    async fn create_key(&self, owner: &KeyOwner) -> Result<()> {
        let identity = age::x25519::Identity::generate();
        let public = identity.to_public().to_string();
        for _ in 0..3 {
            let version = self.active_version();
            let keyring = self.keyring_with(version)?;
            let wrapped = wrap_secret(&keyring, owner, version, &identity)?;
            let sql = match self.store().backend() {
                Backend::Sqlite => INSERT_KEY_SQLITE,
                Backend::Postgres => INSERT_KEY_POSTGRES,
            };
            let inserted = on_pool!(self.store(), |pool| sqlx::query(sql)
                .bind(owner.kind())
                .bind(owner.id())
                .bind(&public)
                .bind(&wrapped)
                .bind(i64::from(version))
                .bind(now_ms())
                .execute(pool)
                .await
                .map(|r| r.rows_affected()))?;
            if inserted > 0 || self.key_row(owner).await?.is_some() {
                return Ok(());
            }
            self.refresh_active_version().await?;
        }
        Err(Error::Crypto(
            "a key pair could not be stored: the root key version keeps changing",
        ))
    }
}

/// Inserts a key row only while `$5` is still the database's active root key
/// version. On PostgreSQL `FOR SHARE` holds that version until this statement's
/// transaction ends, so a rotation raising it waits, then re-wraps this row too.
/// SQLite runs one writer at a time, which gives the same guarantee.
pub(super) const INSERT_KEY_SQLITE: &str = "INSERT INTO identity_keys \
     (owner_kind, owner_id, public_key, wrapped_secret, root_key_version, created_at) \
     SELECT $1, $2, $3, $4, $5, $6 FROM vault_root_key WHERE id = 1 AND active_version = $5 \
     ON CONFLICT (owner_kind, owner_id) DO NOTHING";
pub(super) const INSERT_KEY_POSTGRES: &str = "INSERT INTO identity_keys \
     (owner_kind, owner_id, public_key, wrapped_secret, root_key_version, created_at) \
     SELECT $1, $2, $3, $4, $5, $6 FROM vault_root_key WHERE id = 1 AND active_version = $5 \
     FOR SHARE ON CONFLICT (owner_kind, owner_id) DO NOTHING";
