PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE exam_badges;
CREATE TABLE issuer_keys_old (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    public_key_multibase TEXT NOT NULL UNIQUE,
    sealed_seed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
INSERT INTO issuer_keys_old (id, vendor_id, public_key_multibase, sealed_seed, created_at, retired_at)
    SELECT id, vendor_id, public_key_multibase, sealed_seed, created_at, retired_at
    FROM issuer_keys WHERE scope = 'vendor';
DROP TABLE issuer_keys;
ALTER TABLE issuer_keys_old RENAME TO issuer_keys;
CREATE INDEX issuer_keys_vendor ON issuer_keys(vendor_id);
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(vendor_id) WHERE retired_at IS NULL;
COMMIT;
PRAGMA foreign_keys = ON;
