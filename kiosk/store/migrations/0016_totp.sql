-- Authenticator-app approvals and remote witnessing (docs/SYNC.md, "Remote approval of
-- privileged actions"; kiosk/domain/app_codes.py, kiosk/domain/remote_witness.py).

-- A clinician's confirmed authenticator-app seed (base32), pulled with their approver_seed
-- record; NULL without one. SQLCipher encrypts it at rest; never logged or audited.
ALTER TABLE approver_seeds ADD COLUMN totp_seed TEXT;

-- The app codes that approved something: a clinician's code for a 30-s time step works once.
CREATE TABLE app_code_steps (
    user_id INTEGER NOT NULL,             -- the clinician's hub user id
    step INTEGER NOT NULL,                -- unix time // 30
    request_id TEXT NOT NULL,             -- the request it approved
    used_at TEXT NOT NULL,
    PRIMARY KEY (user_id, step)
);

-- A dose witnessed from afar: the on-call clinician's hub user id (witness_staff_id is NULL)
-- and the witness_dose request that was used (one request witnesses one dispense).
ALTER TABLE dispense_intents ADD COLUMN witness_hub_user_id INTEGER;
ALTER TABLE dispense_intents ADD COLUMN witness_request_id TEXT;
CREATE INDEX dispense_intents_witness_request ON dispense_intents(witness_request_id);
