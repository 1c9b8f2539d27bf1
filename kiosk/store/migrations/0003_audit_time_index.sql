-- Every decision reads the newest recorded time (clock trust): an index keeps it O(log n)
-- when the audit log holds years of entries.
CREATE INDEX audit_log_at ON audit_log(at);
