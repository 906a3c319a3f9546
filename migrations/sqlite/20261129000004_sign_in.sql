-- Signing in: notification links, one-time codes, and the outbox that mails them.
-- Secrets are stored only as hashes; what an email must carry (a code) is sealed
-- to the recipient's identity until it is sent.

-- A link from a notification email: /open/{token}. Only the SHA-256 of the
-- 256-bit token is kept. A link names one identity and one item; it never grants
-- access by itself.
CREATE TABLE open_links (
    token_hash      BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    identity_id     TEXT NOT NULL REFERENCES identities (id),
    item_id         TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL
);

-- One-time sign-in codes: a keyed hash (HMAC under the vault's lookup key) of
-- the identity and the code. Dead once spent, expired, or tried wrongly too often.
CREATE TABLE sign_in_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (id),
    code_hash   BLOB NOT NULL CHECK (length(code_hash) = 32),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    wrong_tries BIGINT NOT NULL DEFAULT 0 CHECK (wrong_tries >= 0),
    spent_at    BIGINT NULL
);
CREATE INDEX sign_in_codes_by_identity ON sign_in_codes (identity_id, created_at);

-- Mail waiting to go out. The recipient is an identity (its address is sealed in
-- identities); what the email says beyond fixed text is sealed to that identity.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('sign_in_code', 'new_item')),
    identity_id     TEXT NOT NULL REFERENCES identities (id),
    organization_id TEXT NULL REFERENCES organizations (id),
    -- For new-message notices: the thread, so one thread notifies at most
    -- once an hour (threads come in a later migration; no foreign key).
    thread_id       TEXT NULL,
    payload_sealed  BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT NULL,
    last_error      TEXT NULL
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_by_thread ON outbox (thread_id, created_at) WHERE thread_id IS NOT NULL;
