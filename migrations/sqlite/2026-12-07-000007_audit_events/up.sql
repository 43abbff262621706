-- Audit trail: one row per privileged act, written in the transaction of the act. Append-only:
-- the triggers refuse every UPDATE and DELETE, whoever issues it.
-- No foreign key to vendors: the trail outlives whatever it names.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    vendor_id TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    actor_display TEXT NOT NULL,
    action TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    details TEXT NOT NULL,
    client_address TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_vendor ON audit_events(vendor_id, created_at, id);
CREATE INDEX audit_events_created ON audit_events(created_at, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
