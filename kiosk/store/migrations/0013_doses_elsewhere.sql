-- Transfers and guest doses (docs/SYNC.md, "Doses elsewhere and guest passes").

-- A dose the participant took at another machine, sent by the hub: the rules count it like a
-- dose given here (Store.history), so the daily maximum and the interval hold across machines
-- once both have synced. Matched to this kiosk's prescription by the hub's id when the hub
-- names one here, else by participant code and medication.
CREATE TABLE doses_elsewhere (
    hub_key TEXT PRIMARY KEY,             -- the hub's record key
    participant_code TEXT NOT NULL,
    prescription_hub_id TEXT,             -- this kiosk's prescription (hub id), when known
    medication_id INTEGER NOT NULL REFERENCES medications(id),
    units INTEGER NOT NULL CHECK (units > 0),
    taken_at TEXT NOT NULL,               -- UTC, as the other machine recorded it
    from_machine TEXT NOT NULL,           -- the hub's id of the machine that gave it
    received_at TEXT NOT NULL
);
CREATE INDEX doses_elsewhere_participant ON doses_elsewhere(participant_code, taken_at);

-- A guest day elsewhere: this (home) machine refuses the listed prescriptions' doses on that
-- dosing day. Storing it writes the guest.blocked event that tells the hub it holds.
CREATE TABLE guest_blocks (
    hub_key TEXT PRIMARY KEY,             -- the hub's guest pass id
    participant_code TEXT NOT NULL,
    day TEXT NOT NULL,                    -- the dosing day (YYYY-MM-DD, site clock)
    prescription_hub_ids TEXT NOT NULL,   -- JSON list of hub ids; [] = every prescription
    received_at TEXT NOT NULL
);
CREATE INDEX guest_blocks_participant ON guest_blocks(participant_code, day);
