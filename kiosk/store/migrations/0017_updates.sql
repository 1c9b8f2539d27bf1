-- Software updates (issue 16, docs/UPDATES.md).
-- The hub's offer (pull change kind update_offer, key "current"): at most one row.
CREATE TABLE update_offer (
    key TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    campaign_id INTEGER,
    received_at TEXT NOT NULL
);
-- The last update attempt as the Hardware and Sync pages show it: one row.
CREATE TABLE update_status (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    running TEXT NOT NULL,
    target TEXT,
    state TEXT NOT NULL,
    campaign_id INTEGER,
    detail TEXT,
    bytes INTEGER,
    attempted_at TEXT NOT NULL
);
