-- Server-side sessions (the cookie holds only the random session id). Rows are
-- keyed by the SHA-256 of the id, so a copy of the table signs nobody in.
-- `person` ("patient:<id>" or "staff:<id>") is set once signed in, for
-- "sign out everywhere". `data` is JSON holding ids, times and passkey ceremony
-- state: never health information.
CREATE TABLE sessions (
    id_hash    BYTEA PRIMARY KEY NOT NULL CHECK (length(id_hash) = 32),
    person     TEXT NULL,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_person ON sessions (person) WHERE person IS NOT NULL;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
