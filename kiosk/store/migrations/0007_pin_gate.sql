-- One lockout policy for every staff PIN entry (kiosk.services.pin_gate). pin_attempts keeps
-- one row per entry point ("admin", "witness", "confirm_secure", "second_signature",
-- "new_pin") plus the row "all": the shared ceiling across entry points, whose failures count
-- within a window that starts at its first failure (a success anywhere does not reset it).
ALTER TABLE pin_attempts ADD COLUMN window_started_at TEXT;  -- UTC; only the "all" row
