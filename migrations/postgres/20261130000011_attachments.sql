-- Attachments of messages. The file is sealed (age, streamed in 64 KiB age
-- chunks) to the patient and the mailbox, and stored as rows of at most 1 MiB
-- of ciphertext each, so any instance of the portal can serve it and none holds
-- it whole. Its name is sealed too (a file name can say what it is about); only
-- the type found by looking at its content and its size are plaintext.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY NOT NULL,
    -- NULL while the message it goes with is being written; such rows older
    -- than an hour are left-overs of a failed upload and are removed.
    message_id   TEXT NULL REFERENCES messages (id),
    position     INTEGER NOT NULL DEFAULT 0,
    name_sealed  BYTEA NOT NULL,
    content_type TEXT NOT NULL
        CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'text/plain')),
    size_bytes   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments (message_id, position);
CREATE INDEX attachments_pending ON attachments (created_at) WHERE message_id IS NULL;

CREATE TABLE attachment_chunks (
    attachment_id TEXT NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    sealed        BYTEA NOT NULL,
    PRIMARY KEY (attachment_id, seq)
);
