-- Explanation of Benefits. Plaintext columns hold ids, versions, keyed digests
-- and times; the statement and the original FHIR JSON live only inside one age
-- envelope sealed to the member and to the plan's member-services mailbox.

-- What a key may do: send messages from its mailbox, or publish EOBs for its
-- organization (a health plan). Keys made before this migration send messages.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'messages:send'
    CHECK (scope IN ('messages:send', 'eob:publish'));

-- An organization of kind health_plan that publishes EOBs: the mailbox its
-- members write to (corrections; EOBs are sealed to its key too) and whether
-- the CARIN Blue Button expectations are errors (strict) or warnings.
CREATE TABLE health_plans (
    organization_id            TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id),
    member_services_mailbox_id TEXT NOT NULL REFERENCES mailboxes (id),
    strict                     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                 BIGINT NOT NULL
);

-- The member directory: a plan's member id (a Patient.identifier value), as a
-- keyed digest, to the identity (email address) that receives its EOBs.
CREATE TABLE plan_members (
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    member_digest   BLOB NOT NULL CHECK (length(member_digest) = 32),
    identity_id     TEXT NOT NULL REFERENCES identities (id),
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, member_digest)
);

-- Bulk uploads, so a long one can be followed while it runs.
CREATE TABLE eob_uploads (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    api_key_id      TEXT NOT NULL REFERENCES api_keys (id),
    state           TEXT NOT NULL CHECK (state IN ('receiving', 'done', 'failed')),
    lines           BIGINT NOT NULL DEFAULT 0,
    accepted        BIGINT NOT NULL DEFAULT 0,
    rejected        BIGINT NOT NULL DEFAULT 0,
    eobs            BIGINT NOT NULL DEFAULT 0,
    ignored         BIGINT NOT NULL DEFAULT 0,
    started_at      BIGINT NOT NULL,
    finished_at     BIGINT NULL
);
CREATE INDEX eob_uploads_by_organization ON eob_uploads (organization_id, started_at);

-- The refused lines of an upload, a batch at a time: JSON [{line, outcome}]
-- sealed to the plan's mailbox (an issue may quote a reference or identifier).
CREATE TABLE eob_upload_rejections (
    upload_id     TEXT NOT NULL REFERENCES eob_uploads (id),
    first_line    BIGINT NOT NULL,
    report_sealed BLOB NOT NULL,
    PRIMARY KEY (upload_id, first_line)
);

-- One row per published version. claim_digest is a keyed digest of the plan
-- and the claim identifier: the same claim published again is version n+1.
CREATE TABLE eobs (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    claim_digest    BLOB NOT NULL CHECK (length(claim_digest) = 32),
    version         BIGINT NOT NULL CHECK (version >= 1),
    identity_id     TEXT NOT NULL REFERENCES identities (id),
    mailbox_id      TEXT NOT NULL REFERENCES mailboxes (id),
    sealed          BLOB NOT NULL,
    published_at    BIGINT NOT NULL,
    upload_id       TEXT NULL,
    UNIQUE (organization_id, claim_digest, version)
);
CREATE INDEX eobs_by_identity ON eobs (identity_id, published_at);

-- A patient's request that a statement be corrected: the thread it opened.
CREATE TABLE eob_corrections (
    thread_id  TEXT PRIMARY KEY NOT NULL REFERENCES threads (id),
    eob_id     TEXT NOT NULL REFERENCES eobs (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX eob_corrections_by_eob ON eob_corrections (eob_id);

-- A new kind of email, "you have new statements", at most one per member,
-- plan and day. SQLite cannot change a CHECK constraint: the outbox is rebuilt
-- with the same columns in the same order.
CREATE TABLE outbox_rebuilt (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('sign_in_code', 'new_item', 'staff_reply', 'new_statements')),
    identity_id     TEXT NOT NULL REFERENCES identities (id),
    organization_id TEXT NULL REFERENCES organizations (id),
    thread_id       TEXT NULL,
    payload_sealed  BLOB NOT NULL,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    sent_at         BIGINT NULL,
    last_error      TEXT NULL,
    leased_by       TEXT NULL,
    leased_until    BIGINT NULL
);
INSERT INTO outbox_rebuilt SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX outbox_by_thread ON outbox (thread_id, created_at) WHERE thread_id IS NOT NULL;
CREATE INDEX outbox_by_recipient ON outbox (identity_id, kind, created_at);
