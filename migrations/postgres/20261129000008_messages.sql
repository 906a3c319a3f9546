-- Secure messages. A mailbox is an organization's department; a thread is
-- between one mailbox and one patient identity. Subjects and bodies are sealed
-- (age) to the patient and to the mailbox: no column holds them in the clear.
CREATE TABLE mailboxes (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    -- The department's name, such as "Cardiology": not health information.
    display_name    TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('clinical', 'billing', 'general')),
    created_at      BIGINT NOT NULL
);
CREATE INDEX mailboxes_by_organization ON mailboxes (organization_id);

CREATE TABLE threads (
    id                  TEXT PRIMARY KEY NOT NULL,
    mailbox_id          TEXT NOT NULL REFERENCES mailboxes (id),
    patient_identity_id TEXT NOT NULL REFERENCES identities (id),
    subject_sealed      BYTEA NOT NULL,
    created_at          BIGINT NOT NULL,
    last_message_at     BIGINT NOT NULL
);
CREATE INDEX threads_by_patient ON threads (patient_identity_id, last_message_at);
CREATE INDEX threads_by_mailbox ON threads (mailbox_id, last_message_at);

CREATE TABLE messages (
    id          TEXT PRIMARY KEY NOT NULL,
    thread_id   TEXT NOT NULL REFERENCES threads (id),
    author_kind TEXT NOT NULL CHECK (author_kind IN ('staff', 'patient', 'api_key')),
    author_id   TEXT NOT NULL,
    body_sealed BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    -- Set by the sender: after it, the patient sees only that it was withdrawn.
    expires_at  BIGINT NULL,
    revoked_at  BIGINT NULL,
    -- When the expiry was written to the audit log (by the expiry sweep).
    expiry_audited_at BIGINT NULL
);
CREATE INDEX messages_by_thread ON messages (thread_id, created_at);
CREATE INDEX messages_expiring ON messages (expires_at)
    WHERE expires_at IS NOT NULL AND expiry_audited_at IS NULL;

-- When each reader last opened a thread: a patient ("patient:<id>") or a
-- mailbox ("mailbox:<id>", shared by its staff). Unread = a newer message by
-- someone else.
CREATE TABLE thread_reads (
    thread_id    TEXT NOT NULL REFERENCES threads (id),
    reader       TEXT NOT NULL,
    last_read_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, reader)
);
