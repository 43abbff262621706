-- Runs outside diesel's transaction (metadata.toml): SQLite cannot drop NOT NULL in place, so
-- issuer_keys is rebuilt, and that needs foreign keys off (they cannot change inside a transaction).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- A badge image per exam, uploaded by the vendor (SVG checked and kept as sent, or PNG). Exams
-- without a row get a generated SVG.
CREATE TABLE exam_badges (
    exam_id TEXT PRIMARY KEY REFERENCES exams(id) ON DELETE CASCADE,
    format TEXT NOT NULL CHECK (format IN ('svg', 'png')),
    image BLOB NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Issuer keys get a scope: 'vendor' keys belong to one vendor (as before), 'instance' keys to the
-- instance-level issuer did:web:<host> (no vendor). `credentials.issuer_key_id` keeps referring to
-- the name issuer_keys, which the new table takes.
CREATE TABLE issuer_keys_new (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL DEFAULT 'vendor' CHECK (scope IN ('vendor', 'instance')),
    vendor_id TEXT REFERENCES vendors(id) ON DELETE CASCADE,
    public_key_multibase TEXT NOT NULL UNIQUE,
    sealed_seed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP,
    CHECK ((scope = 'vendor') = (vendor_id IS NOT NULL))
);
INSERT INTO issuer_keys_new (id, scope, vendor_id, public_key_multibase, sealed_seed, created_at, retired_at)
    SELECT id, 'vendor', vendor_id, public_key_multibase, sealed_seed, created_at, retired_at
    FROM issuer_keys;
DROP TABLE issuer_keys;
ALTER TABLE issuer_keys_new RENAME TO issuer_keys;
CREATE INDEX issuer_keys_vendor ON issuer_keys(vendor_id);
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(vendor_id) WHERE retired_at IS NULL;
CREATE UNIQUE INDEX issuer_keys_one_active_instance ON issuer_keys(scope)
    WHERE retired_at IS NULL AND scope = 'instance';

COMMIT;
PRAGMA foreign_keys = ON;
