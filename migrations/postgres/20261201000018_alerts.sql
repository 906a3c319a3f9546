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

-- A new kind of email: a security alert, to the organization's admins.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('sign_in_code', 'new_item', 'staff_reply', 'new_statements', 'security_alert'));
