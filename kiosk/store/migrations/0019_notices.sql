-- Notices for one participant (after their scan) or for the site (at idle): issue 17 item 3,
-- docs/SYNC.md "Notices". The text is personal enough to stay in this encrypted store and on
-- screens: never in a log line or an audit entry (the audit names the notice's uuid).
CREATE TABLE notices (
    uuid TEXT PRIMARY KEY,                -- made where the notice was written (kiosk or hub)
    scope TEXT NOT NULL CHECK (scope IN ('participant', 'site')),
    participant_code TEXT,                -- set for a participant notice
    starts_on TEXT NOT NULL,              -- YYYY-MM-DD, site clock
    ends_on TEXT NOT NULL,                -- the last day it is shown
    texts TEXT NOT NULL,                  -- JSON {language: text}
    one_language TEXT,                    -- set: shown as written in that language
    origin TEXT NOT NULL CHECK (origin IN ('kiosk', 'hub')),
    created_by TEXT NOT NULL,             -- "staff:3" or "hub"
    created_at TEXT NOT NULL,
    withdrawn_at TEXT,                    -- ended early by staff: shown no more
    CHECK (scope = 'site' OR participant_code IS NOT NULL)
);
CREATE INDEX notices_participant ON notices(participant_code, ends_on);

-- A participant pressed "OK" on a notice: it is not shown to them again.
CREATE TABLE notice_acknowledgements (
    notice_uuid TEXT PRIMARY KEY REFERENCES notices(uuid) ON DELETE CASCADE,
    at TEXT NOT NULL
);
