-- Vends the controller's own log (VEND_LOG, protocol 1.1) holds and this database did not:
-- evidence that records were lost. Kept, never deleted; staff acknowledge them.
CREATE TABLE controller_vends (
    vend_id INTEGER PRIMARY KEY,
    lane INTEGER,  -- NULL: kept by firmware 1.0 without it
    units INTEGER,
    dropped INTEGER NOT NULL,
    outcome INTEGER NOT NULL,
    found_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT
);
