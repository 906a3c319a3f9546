-- The audit log: one row per view or action, written before the content is
-- served, kept at least six years. Rows carry ids, never health information.
--
-- Append-only: triggers below refuse UPDATE and DELETE. Tamper-evident: each row
-- stores the hash of the row before it (`prev_hash`, 32 zero bytes for seq 1)
-- and its own SHA-256 over `prev_hash` and a canonical encoding of the row
-- (see core/src/audit/chain.rs). The chain head is the row with the highest
-- seq; writers take the database write lock (BEGIN IMMEDIATE) and read it inside
-- their transaction, so no separate, updatable head row is needed.
--
-- `seq` is INTEGER PRIMARY KEY here (SQLite's 64-bit rowid), BIGINT on PostgreSQL.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
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
    prev_hash       BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash            BLOB NOT NULL CHECK (length(hash) = 32)
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
) WITHOUT ROWID;

-- How far audit_ids has been filled: every event with seq <= indexed_through is
-- in it. One row; only the indexer updates it (it is bookkeeping, not audit data).
CREATE TABLE audit_index_state (
    singleton       INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
    indexed_through BIGINT NOT NULL CHECK (indexed_through >= 0)
);
INSERT INTO audit_index_state (singleton, indexed_through) VALUES (1, 0);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused');
END;

CREATE TRIGGER audit_ids_no_update BEFORE UPDATE ON audit_ids
BEGIN
    SELECT RAISE(ABORT, 'audit_ids is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_ids_no_delete BEFORE DELETE ON audit_ids
BEGIN
    SELECT RAISE(ABORT, 'audit_ids is append-only: DELETE refused');
END;
