-- Organization API keys: how a provider's or plan's system calls /api/v1.
-- A key is scoped to one mailbox of one organization. Only the SHA-256 of the
-- secret is kept (the secret is 256 random bits, so no salt or slow hash is
-- needed); the secret itself is shown once, when the key is made.
CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    mailbox_id      TEXT NOT NULL REFERENCES mailboxes (id),
    -- The operator's name for the calling system, such as "Lab results feed".
    label           TEXT NOT NULL,
    secret_hash     BYTEA NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at      BIGINT NOT NULL,
    -- Updated at most once a minute.
    last_used_at    BIGINT NULL,
    revoked_at      BIGINT NULL
);
CREATE INDEX api_keys_by_organization ON api_keys (organization_id, created_at);
