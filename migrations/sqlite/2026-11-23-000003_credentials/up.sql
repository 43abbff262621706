-- Issuer keys per vendor: Ed25519 seeds sealed under the master key; retired keys stay for verification.
CREATE TABLE issuer_keys (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    public_key_multibase TEXT NOT NULL UNIQUE,
    sealed_seed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
CREATE INDEX issuer_keys_vendor ON issuer_keys(vendor_id);

-- One BitstringStatusListCredential per `size` slots; `credential` is the exact signed JSON served.
CREATE TABLE status_lists (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    bits BLOB NOT NULL,
    allocated INTEGER NOT NULL,
    credential TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (vendor_id, number)
);

-- The exact signed credential JSON is stored and served; it is never rebuilt from rows.
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    exam_id TEXT NOT NULL REFERENCES exams(id) ON DELETE CASCADE,
    attempt_id TEXT NOT NULL UNIQUE REFERENCES attempts(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issuer_key_id TEXT NOT NULL REFERENCES issuer_keys(id),
    status_list_id TEXT NOT NULL REFERENCES status_lists(id),
    status_index INTEGER NOT NULL,
    json TEXT NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_until TIMESTAMP,
    revoked_at TIMESTAMP,
    revocation_reason TEXT,
    revoked_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    superseded_by TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (status_list_id, status_index)
);
CREATE INDEX credentials_user ON credentials(user_id);
CREATE INDEX credentials_expiry ON credentials(valid_until);

-- Each expiry reminder is sent once: the row is the proof it was queued.
CREATE TABLE credential_reminders (
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    days_before INTEGER NOT NULL,
    queued_at TIMESTAMP NOT NULL,
    PRIMARY KEY (credential_id, days_before)
);

-- At most one active (unretired) issuer key per vendor: concurrent first uses cannot create two.
CREATE UNIQUE INDEX issuer_keys_one_active ON issuer_keys(vendor_id) WHERE retired_at IS NULL;
CREATE INDEX credentials_vendor ON credentials(vendor_id, created_at);
