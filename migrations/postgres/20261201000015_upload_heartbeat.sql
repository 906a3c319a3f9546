-- A bulk upload's heartbeat: refreshed while its body streams, so that an
-- upload whose process died (a crash, a SIGKILL) can be told from a slow one
-- and marked failed instead of staying 'receiving' for ever.
ALTER TABLE eob_uploads ADD COLUMN heartbeat_at BIGINT NULL;
CREATE INDEX eob_uploads_receiving ON eob_uploads (heartbeat_at) WHERE state = 'receiving';
