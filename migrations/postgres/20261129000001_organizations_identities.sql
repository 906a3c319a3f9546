-- Organizations (providers, health plans) and recipient identities.
-- Plaintext columns hold ids, kinds, display names of organizations and system
-- event times (Unix milliseconds); never health information.
CREATE TABLE organizations (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('provider', 'health_plan')),
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- One row per recipient email address, found by a keyed digest of the
-- normalized address; the address itself is not stored here.
CREATE TABLE identities (
    id           TEXT PRIMARY KEY NOT NULL,
    email_digest BYTEA NOT NULL UNIQUE CHECK (length(email_digest) = 32),
    created_at   BIGINT NOT NULL
);
