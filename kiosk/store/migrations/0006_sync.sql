-- Sync with the hub (docs/SYNC.md): hub identities, the sync state, conflicts, site settings.

-- The hub's id of a prescription / staff account (text: the hub chooses its id format).
-- NULL for a record made on this kiosk that the hub has not sent back yet.
ALTER TABLE prescriptions ADD COLUMN hub_id TEXT;
CREATE UNIQUE INDEX prescriptions_hub_id ON prescriptions(hub_id) WHERE hub_id IS NOT NULL;
ALTER TABLE staff ADD COLUMN hub_id TEXT;
CREATE UNIQUE INDEX staff_hub_id ON staff(hub_id) WHERE hub_id IS NOT NULL;

-- 1 once the hub has sent the participant: only such participants can be tombstoned by
-- their absence from a snapshot (one enrolled here and not yet known to the hub stays).
ALTER TABLE participants ADD COLUMN hub_synced INTEGER NOT NULL DEFAULT 0;

-- Site settings owned by the hub (values are JSON).
CREATE TABLE site_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row: where the pull stands and how the last attempts went. Written only by sync.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL DEFAULT 0,    -- the hub's change-log position, stored with each page
    last_success_at TEXT,                 -- UTC
    last_attempt_at TEXT,                 -- UTC
    last_error TEXT NOT NULL DEFAULT '',  -- staff wording, never personal data
    events_waiting INTEGER NOT NULL DEFAULT 0,
    snapshot_open INTEGER NOT NULL DEFAULT 0  -- a multi-page snapshot is being received
);
INSERT INTO sync_state (id) VALUES (1);

-- Records named by the pages of a snapshot in progress; what is not named is a tombstone.
CREATE TABLE sync_snapshot_seen (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);

-- A pulled change that met an unsent local edit of the same record: kept for staff, not applied.
CREATE TABLE sync_conflicts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                   -- participant | prescription | staff | setting
    key TEXT NOT NULL,                    -- the change's key (code, hub id, setting name)
    op TEXT NOT NULL,                     -- upsert | delete
    hub_data TEXT NOT NULL,               -- the change as the hub sent it (JSON)
    local_seqs TEXT NOT NULL,             -- JSON list of the unsent outbox seqs it met
    cursor INTEGER NOT NULL,              -- the page's cursor
    created_at TEXT NOT NULL,
    alerted INTEGER NOT NULL DEFAULT 0,   -- a staff alert was raised for it
    resolved_at TEXT,
    resolved_by INTEGER REFERENCES staff(id)
);
CREATE INDEX sync_conflicts_open ON sync_conflicts(resolved_at);
