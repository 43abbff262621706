-- Audit trail: one row per privileged act, written in the transaction of the act. Append-only:
-- the triggers refuse every UPDATE, DELETE and TRUNCATE, whoever issues it.
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

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
