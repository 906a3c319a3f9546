-- Passkeys (WebAuthn credentials). The WebAuthn user handle is the owner's id
-- (a UUID), so a discoverable sign-in names its owner without a username.
-- `passkey` is webauthn-rs's JSON for the credential: a public key and a
-- counter, nothing secret. The name the person gave it is sealed to them.
CREATE TABLE passkeys (
    credential_id TEXT PRIMARY KEY NOT NULL,
    owner_kind    TEXT NOT NULL CHECK (owner_kind IN ('patient', 'staff')),
    owner_id      TEXT NOT NULL,
    passkey       TEXT NOT NULL,
    name_sealed   BLOB NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NULL
);
CREATE INDEX passkeys_by_owner ON passkeys (owner_kind, owner_id);
