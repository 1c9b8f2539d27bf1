-- A dose given by hand, told to the participant's other machines as a dose elsewhere
-- (docs/SYNC.md, "Manual doses"): its uuid, so a kiosk that also holds the dose as its own
-- (manual_doses) counts it once, whichever of the two arrived first (Store.history).
ALTER TABLE doses_elsewhere ADD COLUMN manual_uuid TEXT;
