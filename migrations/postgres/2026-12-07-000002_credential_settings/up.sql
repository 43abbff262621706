-- Per-vendor credential settings. No row means the defaults (cryptosuite eddsa-rdfc-2022).
CREATE TABLE vendor_credential_settings (
    vendor_id TEXT PRIMARY KEY REFERENCES vendors(id) ON DELETE CASCADE,
    cryptosuite TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
