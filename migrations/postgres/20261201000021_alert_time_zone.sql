-- The time zone of an organization's business hours (an IANA name such as
-- America/New_York); NULL is UTC, as before.
ALTER TABLE alert_rules ADD COLUMN time_zone TEXT NULL;
