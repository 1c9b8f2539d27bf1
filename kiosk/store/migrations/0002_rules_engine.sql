-- The full dosing rules: interval schedules, accumulation, witnessing, missed-dose holds.
ALTER TABLE prescriptions ADD COLUMN interval_minutes INTEGER;
ALTER TABLE prescriptions ADD COLUMN max_doses_per_day INTEGER;
ALTER TABLE prescriptions ADD COLUMN accumulate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prescriptions ADD COLUMN witnessed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prescriptions ADD COLUMN missed_dose_limit INTEGER;
ALTER TABLE prescriptions ADD COLUMN released_at TEXT;
ALTER TABLE prescriptions ADD COLUMN hold_kind TEXT NOT NULL DEFAULT '';  -- staff | missed_doses

ALTER TABLE dispense_intents ADD COLUMN witness_staff_id INTEGER REFERENCES staff(id);

-- Decisions read one prescription's recent history: keep that a range scan.
CREATE INDEX dispense_intents_prescription ON dispense_intents(prescription_id, created_at);

-- Things staff must see and acknowledge (jams, holds for review, an untrusted clock, ...).
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,                -- staff wording, no personal data
    created_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by INTEGER REFERENCES staff(id)
);
CREATE INDEX alerts_open ON alerts(kind, subject) WHERE acknowledged_at IS NULL;
