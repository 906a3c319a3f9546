-- Behavioural alerts. Each organization may set its rules (no row: none):
-- more than max_patients_per_hour different patients' items opened by one
-- staff account within an hour, and downloads outside business hours (UTC,
-- from start to end, end excluded).
CREATE TABLE alert_rules (
    organization_id       TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id),
    max_patients_per_hour BIGINT NULL CHECK (max_patients_per_hour > 0),
    business_hours_start  BIGINT NULL CHECK (business_hours_start BETWEEN 0 AND 23),
    business_hours_end    BIGINT NULL CHECK (business_hours_end BETWEEN 1 AND 24),
    CHECK ((business_hours_start IS NULL) = (business_hours_end IS NULL))
);

-- Alerts raised. occasion makes one alert of many checks: the hour for
-- many_patients, the audit event's seq for an after-hours download. detail
-- holds counts and times only, never health information.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    rule            TEXT NOT NULL CHECK (rule IN ('many_patients', 'after_hours_download')),
    staff_id        TEXT NOT NULL,
    occasion        BIGINT NOT NULL,
    detail          TEXT NOT NULL,
    raised_at       BIGINT NOT NULL,
    UNIQUE (organization_id, rule, staff_id, occasion)
);
CREATE INDEX alerts_by_organization ON alerts (organization_id, raised_at);

-- A new kind of email: a security alert, to the organization's admins. SQLite
-- cannot change a CHECK constraint: the outbox is rebuilt as before.
CREATE TABLE outbox_rebuilt (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('sign_in_code', 'new_item', 'staff_reply', 'new_statements', 'security_alert')),
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
