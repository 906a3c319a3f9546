-- The audit log: one row per view or action, written before the content is
-- served, kept at least six years. Rows carry ids, never health information.
--
-- Append-only: triggers below refuse UPDATE, DELETE and TRUNCATE. Tamper-evident:
-- each row stores the hash of the row before it (`prev_hash`, 32 zero bytes for
-- seq 1) and its own SHA-256 over `prev_hash` and a canonical encoding of the row
-- (see core/src/audit/chain.rs). The chain head is the row with the highest seq;
-- every writer, in every portico instance, takes
-- `LOCK TABLE audit_events IN EXCLUSIVE MODE` (which blocks other writers, not
-- readers) and reads it inside its transaction, so all instances extend one chain
-- and no separate, updatable head row is needed.
CREATE TABLE audit_events (
    seq             BIGINT PRIMARY KEY CHECK (seq >= 1),
    -- When it happened, Unix milliseconds.
    occurred_at     BIGINT NOT NULL,
    actor_kind      TEXT NOT NULL CHECK (actor_kind IN ('patient', 'staff', 'api_key', 'system')),
    actor_id        TEXT NOT NULL,
    -- A stable snake_case name, such as message_viewed.
    action          TEXT NOT NULL,
    -- The ids the action was about, separated by single spaces (ids hold none).
    subject_ids     TEXT NOT NULL,
    organization_id TEXT,
    outcome         TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    client_address  TEXT,
    user_agent      TEXT,
    prev_hash       BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash            BYTEA NOT NULL CHECK (length(hash) = 32)
);

-- Export by time range, and an organization's log for its admins. Both keys grow
-- with time, so new entries land on a few pages at the end of each index.
CREATE INDEX audit_events_by_time ON audit_events (occurred_at, seq);
CREATE INDEX audit_events_by_organization ON audit_events (organization_id, seq)
    WHERE organization_id IS NOT NULL;

-- One row per id an event names, as its actor or among its subjects (each id
-- once): finds a patient's access history (every event on their identity or
-- items, staff views included), a staff member's activity, a message's read
-- receipts. Derived from audit_events (which the hash chain covers) and filled
-- behind it, in large batches, by the writer (core/src/audit/index.rs): ids of
-- people are scattered keys, each costing a page write per commit, so indexing
-- every small batch in its own commit cost four fifths of the append rate.
-- Readers add the events past `audit_index_state.indexed_through` by reading
-- audit_events itself, so answers never lag.
CREATE TABLE audit_ids (
    id  TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (id, seq)
);

-- How far audit_ids has been filled: every event with seq <= indexed_through is
-- in it. One row; only the indexer updates it (it is bookkeeping, not audit data).
CREATE TABLE audit_index_state (
    singleton       INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    indexed_through BIGINT NOT NULL CHECK (indexed_through >= 0)
);
INSERT INTO audit_index_state (singleton, indexed_through) VALUES (1, 0);

CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_ids_append_only
    BEFORE UPDATE OR DELETE ON audit_ids
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_ids_no_truncate
    BEFORE TRUNCATE ON audit_ids
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
