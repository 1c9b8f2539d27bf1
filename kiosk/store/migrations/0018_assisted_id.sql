-- Staff-assisted identification (issue 17): a finger that will not read.

-- The picture a participant confirms on screen when staff identify them ("Is this you?"):
-- a kiosk.domain.assisted_id.Picture value; NULL shows their initials.
ALTER TABLE participants ADD COLUMN confirmation_picture TEXT;

-- Who identified the participant for this vend: a staff id, or NULL for their finger.
ALTER TABLE dispense_intents ADD COLUMN identified_by INTEGER REFERENCES staff(id);

-- Each staff-assisted identification, counted per participant (the re-enrol alert).
CREATE TABLE assisted_ids (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants(id),
    staff_id INTEGER NOT NULL REFERENCES staff(id),
    at TEXT NOT NULL
);
CREATE INDEX assisted_ids_participant ON assisted_ids(participant_id, at);
