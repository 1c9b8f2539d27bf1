-- Who has been told (docs/SYNC.md, "Who has been told"): the hub's alert_notice records.

-- One row per hub alert about this machine: the people the hub told (role, first name and
-- initial, channel, when) and who acknowledged. Linked to this kiosk's alert by its id; a
-- hub-only alert (the machine seen offline) has none and is matched by kind. Staff names
-- stay in this encrypted store and on staff screens: never in a participant's, a log or an
-- audit entry.
CREATE TABLE alert_notices (
    hub_key TEXT PRIMARY KEY,             -- the hub's alert id
    kiosk_alert_id INTEGER,               -- alerts.id here, or NULL for a hub-only alert
    kind TEXT NOT NULL,
    machine_alert INTEGER NOT NULL DEFAULT 0,
    told TEXT NOT NULL,                   -- JSON list of {role, label, channel, at}
    acknowledged TEXT,                    -- JSON {role, label, at} or NULL
    received_at TEXT NOT NULL
);
CREATE INDEX alert_notices_alert ON alert_notices(kiosk_alert_id);
