-- Staff accounts: people at a provider or health plan. A staff member is an
-- identity (found by the keyed digest of their address, which stays sealed)
-- with a role in one organization. The password is an argon2id PHC string.
CREATE TABLE staff_accounts (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    identity_id     TEXT NOT NULL UNIQUE REFERENCES identities (id),
    role            TEXT NOT NULL CHECK (role IN ('admin', 'clinician', 'staff', 'billing')),
    password_hash   TEXT NULL,
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT NULL
);

-- Failed password sign-ins, for throttling (5 in 15 minutes) and for telling
-- the owner at their next successful sign-in (reported_at set then).
CREATE TABLE staff_sign_in_failures (
    staff_id    TEXT NOT NULL REFERENCES staff_accounts (id),
    failed_at   BIGINT NOT NULL,
    reported_at BIGINT NULL
);
CREATE INDEX staff_sign_in_failures_by_staff ON staff_sign_in_failures (staff_id, failed_at);

-- One-time enrollment links (/enroll/{token}), stored as SHA-256 of the token.
CREATE TABLE staff_enrollments (
    token_hash BYTEA PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    staff_id   TEXT NOT NULL REFERENCES staff_accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NULL
);
