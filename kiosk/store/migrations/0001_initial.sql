-- The walking skeleton's schema. Timestamps are ISO-8601 UTC text ("...Z").
CREATE TABLE participants (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,            -- the internal id staff and logs use (P-0001)
    display_name TEXT NOT NULL,           -- personal data: never logged
    language TEXT,                        -- preferred locale, e.g. "fr_CA"
    status TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL
);

CREATE TABLE fingerprint_templates (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    finger TEXT NOT NULL,                 -- "right-index", ...
    sensor_position INTEGER NOT NULL UNIQUE,
    characteristics BLOB NOT NULL,        -- read out of the sensor, to reload a new one
    created_at TEXT NOT NULL,
    UNIQUE (participant_id, finger)
);

CREATE TABLE medications (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    strength TEXT NOT NULL,
    form TEXT NOT NULL,
    UNIQUE (name, strength, form)
);

CREATE TABLE prescriptions (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    medication_id INTEGER NOT NULL REFERENCES medications(id),
    units_per_dose INTEGER NOT NULL CHECK (units_per_dose BETWEEN 1 AND 20),
    windows TEXT NOT NULL,                -- JSON [["08:00","11:00"], ...] site-local
    daily_max_units INTEGER NOT NULL CHECK (daily_max_units >= 1),
    start_date TEXT NOT NULL,
    end_date TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    hold_reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX prescriptions_participant ON prescriptions(participant_id);

CREATE TABLE lanes (
    lane INTEGER PRIMARY KEY,             -- 1-based, as the controller numbers them
    medication_id INTEGER REFERENCES medications(id),
    stock INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    state TEXT NOT NULL DEFAULT 'ready'   -- ready | jammed | empty | fault
);

-- Committed BEFORE the VEND command is sent (DESIGN invariant 1).
CREATE TABLE dispense_intents (
    vend_id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    prescription_id INTEGER NOT NULL REFERENCES prescriptions(id),
    lane INTEGER NOT NULL REFERENCES lanes(lane),
    units INTEGER NOT NULL,
    created_at TEXT NOT NULL
);

-- The truth about a vend, from VEND_DONE or VEND_QUERY. Only confirmed drops count.
CREATE TABLE dispense_results (
    vend_id INTEGER PRIMARY KEY REFERENCES dispense_intents(vend_id),
    dropped INTEGER NOT NULL,
    outcome TEXT NOT NULL,                -- complete | jam | lane_empty | motor_fault | aborted | refused
    finished_at TEXT NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    pin_hash TEXT NOT NULL,               -- salted slow hash, never the PIN
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,                  -- "system", "participant:12", "staff:3"
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL,                -- canonical JSON
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,              -- the device sequence for sync
    event_id TEXT NOT NULL UNIQUE,        -- UUID
    type TEXT NOT NULL,
    payload TEXT NOT NULL,                -- JSON
    created_at TEXT NOT NULL,
    sent_at TEXT
);
