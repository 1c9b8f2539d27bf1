-- An alert whose cause has cleared is resolved by the kiosk itself (the lane is ready again,
-- the device answers, the clock is trusted, writes work): the row is kept, with when, so
-- the staff panel's history shows it. Open = neither acknowledged nor resolved.
ALTER TABLE alerts ADD COLUMN resolved_at TEXT;
DROP INDEX alerts_open;
CREATE INDEX alerts_open ON alerts(kind, subject)
    WHERE acknowledged_at IS NULL AND resolved_at IS NULL;
