-- Events the hub set aside instead of storing (docs/SYNC.md, "Events the hub sets aside"):
-- it could not store them (a character its database refuses, a shape it does not read) and
-- acknowledged them all the same, so that one bad event no longer stops sync. The kiosk
-- keeps what the hub said for its staff (the Sync page) and raises one alert per event.
CREATE TABLE sync_quarantine (
    seq INTEGER PRIMARY KEY,             -- the outbox seq (device sequence) of the event
    type TEXT NOT NULL,                  -- the event's type, from this kiosk's outbox
    reason TEXT NOT NULL,                -- the hub's words, without personal data
    reported_at TEXT NOT NULL,           -- UTC, when the hub first said so
    alerted INTEGER NOT NULL DEFAULT 0   -- the staff alert was raised
);
