-- Leases on queued mail. A sender first claims due rows (leased_by: which
-- sender; leased_until: until when), then sends them one by one, so two senders,
-- in one process or in several, never send the same row. A lease that ran out
-- (its sender died) makes the row due again. attempts now counts every attempt
-- begun, a sender that died in the middle of one included.
ALTER TABLE outbox ADD COLUMN leased_by TEXT NULL;
ALTER TABLE outbox ADD COLUMN leased_until BIGINT NULL;
