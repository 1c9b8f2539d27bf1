-- Doses given by hand while the machine could not dispense: issue 17 item 4, docs/SYNC.md
-- "Manual doses". One row per uuid, whichever side recorded it: a re-sent page or a snapshot
-- applies nothing twice. Store.history counts them like dispenses; reconciliation takes the
-- units off the machine's books only when they came from a lane.
CREATE TABLE manual_doses (
    uuid TEXT PRIMARY KEY,
    prescription_id INTEGER REFERENCES prescriptions(id),  -- NULL: not on this kiosk
    prescription_hub_id TEXT,
    participant_code TEXT NOT NULL,
    medication_id INTEGER NOT NULL REFERENCES medications(id),
    units INTEGER NOT NULL CHECK (units > 0),
    given_at TEXT NOT NULL,               -- UTC
    source TEXT NOT NULL CHECK (source IN ('machine_lane', 'pharmacy_stock')),
    lane INTEGER,                         -- the lane it came from (machine_lane)
    recorded_by TEXT NOT NULL,            -- "staff:3", "hub_user:7"
    witness TEXT,                         -- "staff:5", "hub_user:9" or NULL
    origin TEXT NOT NULL CHECK (origin IN ('kiosk', 'hub')),
    recorded_at TEXT NOT NULL,
    CHECK (source = 'pharmacy_stock' OR lane IS NOT NULL)
);
CREATE INDEX manual_doses_prescription ON manual_doses(prescription_id, given_at);
CREATE INDEX manual_doses_lane ON manual_doses(lane, given_at);
