-- A badge image per exam, uploaded by the vendor (SVG checked and kept as sent, or PNG). Exams
-- without a row get a generated SVG.
CREATE TABLE exam_badges (
    exam_id TEXT PRIMARY KEY REFERENCES exams(id) ON DELETE CASCADE,
    format TEXT NOT NULL CHECK (format IN ('svg', 'png')),
    image BYTEA NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Issuer keys get a scope: 'vendor' keys belong to one vendor (as before), 'instance' keys to the
-- instance-level issuer did:web:<host> (no vendor).
ALTER TABLE issuer_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'vendor'
    CHECK (scope IN ('vendor', 'instance'));
ALTER TABLE issuer_keys ALTER COLUMN vendor_id DROP NOT NULL;
ALTER TABLE issuer_keys ADD CONSTRAINT issuer_keys_scope_vendor
    CHECK ((scope = 'vendor') = (vendor_id IS NOT NULL));
CREATE UNIQUE INDEX issuer_keys_one_active_instance ON issuer_keys(scope)
    WHERE retired_at IS NULL AND scope = 'instance';
