-- The staff admin panel: PIN lockouts, personal lanes, stock movements, discrepancies.
CREATE TABLE pin_attempts (
    entry TEXT PRIMARY KEY,               -- which PIN entry ("admin")
    failures INTEGER NOT NULL DEFAULT 0,  -- consecutive wrong PINs
    locked_until TEXT                     -- UTC; survives a restart (no reboot to retry)
);

ALTER TABLE lanes ADD COLUMN participant_id INTEGER REFERENCES participants(id);  -- locker

-- Every change of stock that is not a dispense: restocks (blind count + second sign-off),
-- returns, waste, counts. Reconciliation reads these with the dispense results.
CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    lane INTEGER NOT NULL REFERENCES lanes(lane),
    medication_id INTEGER REFERENCES medications(id),
    kind TEXT NOT NULL,                   -- restock | return | waste | count
    units INTEGER NOT NULL,               -- added (+) or removed (-)
    expected INTEGER,                     -- what the store expected before a count
    counted INTEGER,                      -- what staff found (blind count)
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    second_staff_id INTEGER REFERENCES staff(id),
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL
);
CREATE INDEX stock_movements_at ON stock_movements(at);

CREATE TABLE discrepancies (
    id INTEGER PRIMARY KEY,
    lane INTEGER NOT NULL REFERENCES lanes(lane),
    expected INTEGER NOT NULL,
    counted INTEGER NOT NULL,
    opened_at TEXT NOT NULL,
    opened_by INTEGER NOT NULL REFERENCES staff(id),
    resolved_at TEXT,
    resolved_by INTEGER REFERENCES staff(id),
    reason TEXT
);
