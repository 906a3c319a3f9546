-- The vault: identity key pairs, the vault's own keys, and the root key version
-- new secrets are wrapped under. Every secret here is wrapped (XChaCha20-Poly1305)
-- under the root key, which lives in a file, never in the database; the associated
-- data of each wrapped secret names its row and root key version, so a wrapped
-- secret copied onto another row does not open.

-- One row: the root key version new wrapped secrets are made under. Rotation raises
-- it once the new key file is on disk, before it re-wraps any row.
CREATE TABLE vault_root_key (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    active_version BIGINT NOT NULL CHECK (active_version >= 1)
);

-- The vault's own keys, made on first use: 'lookup' keys identities.email_digest
-- (HMAC-SHA256), 'directory' seals identities.email_sealed.
CREATE TABLE vault_keys (
    name             TEXT PRIMARY KEY NOT NULL CHECK (name IN ('lookup', 'directory')),
    wrapped_key      BLOB NOT NULL,
    root_key_version BIGINT NOT NULL,
    created_at       BIGINT NOT NULL
);

-- One age X25519 key pair per owner: a recipient identity or an organization
-- mailbox. public_key is an age recipient ("age1..."); the secret half is stored
-- only wrapped. Erasure (crypto-shredding) sets both to NULL and records erased_at.
CREATE TABLE identity_keys (
    owner_kind       TEXT NOT NULL CHECK (owner_kind IN ('identity', 'mailbox')),
    owner_id         TEXT NOT NULL,
    public_key       TEXT NULL,
    wrapped_secret   BLOB NULL,
    root_key_version BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    erased_at        BIGINT NULL,
    PRIMARY KEY (owner_kind, owner_id),
    CHECK ((erased_at IS NULL AND public_key IS NOT NULL AND wrapped_secret IS NOT NULL)
        OR (erased_at IS NOT NULL AND public_key IS NULL AND wrapped_secret IS NULL))
);

-- Rotation finds the secrets still wrapped under an older root key version.
CREATE INDEX identity_keys_by_root_key_version ON identity_keys (root_key_version)
    WHERE wrapped_secret IS NOT NULL;

-- The address itself, sealed under the directory key (associated data: the
-- identity id), so that notifications can be addressed. Look-ups use email_digest.
ALTER TABLE identities ADD COLUMN email_sealed BLOB NULL;
