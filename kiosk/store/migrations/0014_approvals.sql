-- Remote approval of privileged actions (kiosk/domain/remote_approval.py, docs/SYNC.md).

-- The on-call clinicians' keys, pulled as approver_seed records. The database is SQLCipher:
-- the seeds are encrypted at rest with everything else; they are never logged or audited.
CREATE TABLE approver_seeds (
    user_id INTEGER PRIMARY KEY,          -- the clinician's hub user id (the record's key)
    role TEXT NOT NULL,                   -- the hub role the approval is given as
    label TEXT NOT NULL,                  -- first name and initial, e.g. "Maria L."
    seed TEXT NOT NULL,                   -- base32
    actions TEXT NOT NULL,                -- JSON list of ApprovalAction values
    updated_at TEXT NOT NULL
);

-- Every request made here: its challenge, the hub's decision (online) and its single use.
CREATE TABLE approval_requests (
    request_id TEXT PRIMARY KEY,          -- uuid
    action TEXT NOT NULL,
    subject TEXT NOT NULL,                -- "machine", "lane:2", "prescription:<hub id>"
    requested_by TEXT NOT NULL,           -- "staff:<id>"
    challenge TEXT NOT NULL,              -- 8 digits
    issued_at TEXT NOT NULL,              -- UTC, the kiosk's clock
    decision TEXT,                        -- approved | refused (online), NULL while pending
    approver_id INTEGER,
    approver_role TEXT,
    approver_label TEXT,
    reason TEXT,                          -- a refusal's reason
    decided_at TEXT,
    expires_at TEXT,                      -- an online decision is acted on only before this
    used_at TEXT,                         -- set once: a challenge and a decision work once
    used_how TEXT,                        -- online | offline
    withdrawn_at TEXT
);
CREATE INDEX approval_requests_open ON approval_requests(used_at, withdrawn_at);
