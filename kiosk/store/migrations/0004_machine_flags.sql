-- Latched conditions that stop dispensing until staff clear them (service door, tamper).
-- They survive a restart: pulling the plug must not clear a tamper alarm.
CREATE TABLE machine_flags (
    name TEXT PRIMARY KEY,
    detail TEXT NOT NULL,
    raised_at TEXT NOT NULL
);
