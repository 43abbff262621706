DROP TABLE exam_badges;
PRAGMA legacy_alter_table = ON;
ALTER TABLE issuer_keys RENAME TO issuer_keys_new;
CREATE TABLE issuer_keys (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    public_key_multibase TEXT NOT NULL UNIQUE,
    sealed_seed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
INSERT INTO issuer_keys (id, vendor_id, public_key_multibase, sealed_seed, created_at, retired_at)
    SELECT id, vendor_id, public_key_multibase, sealed_seed, created_at, retired_at
    FROM issuer_keys_new WHERE scope = 'vendor';
DROP TABLE issuer_keys_new;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX issuer_keys_vendor ON issuer_keys(vendor_id);
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(vendor_id) WHERE retired_at IS NULL;
