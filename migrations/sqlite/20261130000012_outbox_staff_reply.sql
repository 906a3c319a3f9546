-- A new kind of email: staff told that a patient replied in their mailbox.
-- SQLite cannot change a CHECK constraint, so the table is rebuilt with the
-- same columns in the same order.
CREATE TABLE outbox_rebuilt (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('sign_in_code', 'new_item', 'staff_reply')),
    identity_id     TEXT NOT NULL REFERENCES identities (id),
    organization_id TEXT NULL REFERENCES organizations (id),
    thread_id       TEXT NULL,
    payload_sealed  BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT NULL,
    last_error      TEXT NULL
);
INSERT INTO outbox_rebuilt SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_by_thread ON outbox (thread_id, created_at) WHERE thread_id IS NOT NULL;
