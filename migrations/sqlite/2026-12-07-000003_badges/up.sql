-- A badge image per exam, uploaded by the vendor (SVG checked and kept as sent, or PNG). Exams
-- without a row get a generated SVG.
CREATE TABLE exam_badges (
    exam_id TEXT PRIMARY KEY REFERENCES exams(id) ON DELETE CASCADE,
    format TEXT NOT NULL CHECK (format IN ('svg', 'png')),
    image BLOB NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Issuer keys get a scope: 'vendor' keys belong to one vendor (as before), 'instance' keys to the
-- instance-level issuer did:web:<host> (no vendor). SQLite cannot drop NOT NULL in place, so the
-- table is rebuilt. legacy_alter_table keeps `credentials.issuer_key_id` pointing at the name
-- `issuer_keys` (the new table) instead of following the renamed old one.
PRAGMA legacy_alter_table = ON;
ALTER TABLE issuer_keys RENAME TO issuer_keys_old;
CREATE TABLE issuer_keys (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL DEFAULT 'vendor' CHECK (scope IN ('vendor', 'instance')),
    vendor_id TEXT REFERENCES vendors(id) ON DELETE CASCADE,
    public_key_multibase TEXT NOT NULL UNIQUE,
    sealed_seed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    CHECK ((scope = 'vendor') = (vendor_id IS NOT NULL))
);
INSERT INTO issuer_keys (id, scope, vendor_id, public_key_multibase, sealed_seed, created_at, retired_at)
    SELECT id, 'vendor', vendor_id, public_key_multibase, sealed_seed, created_at, retired_at
    FROM issuer_keys_old;
DROP TABLE issuer_keys_old;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX issuer_keys_vendor ON issuer_keys(vendor_id);
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(vendor_id) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX issuer_keys_one_active_instance ON issuer_keys(scope)
    WHERE retired_at IS NULL AND scope = 'instance';
