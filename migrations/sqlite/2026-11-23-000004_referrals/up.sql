-- Referral network. One level only: nothing here links one enrollment to another.
CREATE TABLE programs (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL UNIQUE REFERENCES vendors(id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    landing_url TEXT NOT NULL,
    attribution_window_days INTEGER NOT NULL,
    hold_days INTEGER NOT NULL,
    commission_months INTEGER NOT NULL,
    min_payout_minor BIGINT NOT NULL,
    terms_version TEXT NOT NULL,
    terms_text TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- requires: JSON array of exam slugs whose *current* credential the tier needs.
CREATE TABLE tiers (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    rank INTEGER NOT NULL,
    rate_bps INTEGER NOT NULL,
    requires TEXT NOT NULL,
    UNIQUE (program_id, code)
);

CREATE TABLE enrollments (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    referral_code TEXT NOT NULL UNIQUE,
    tier_code TEXT NOT NULL,
    terms_accepted_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    enrolled_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- When the tier was last computed from current credentials; the expiry job recomputes
    -- enrollments whose credentials expired (or became valid) after this moment.
    tier_checked_at TIMESTAMP NOT NULL,
    UNIQUE (program_id, user_id)
);

CREATE TABLE tier_changes (
    id TEXT PRIMARY KEY,
    enrollment_id TEXT NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    from_tier TEXT,
    to_tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX tier_changes_enrollment ON tier_changes(enrollment_id, changed_at);

CREATE TABLE clicks (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    enrollment_id TEXT NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    ip_hash TEXT NOT NULL,
    ua_hash TEXT NOT NULL,
    referrer TEXT,
    landing TEXT NOT NULL,
    is_bot BOOLEAN NOT NULL
);
CREATE INDEX clicks_enrollment ON clicks(enrollment_id, at);
CREATE INDEX enrollments_user ON enrollments(user_id);

-- First binding wins: (program, external_id) is unique.
CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    enrollment_id TEXT NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    click_id TEXT REFERENCES clicks(id) ON DELETE SET NULL,
    email TEXT,
    bound_at TIMESTAMP NOT NULL,
    UNIQUE (program_id, external_id)
);
CREATE INDEX customers_enrollment ON customers(enrollment_id);

-- The billing inbox: stored first, processed in the same transaction; a repeat is a no-op.
CREATE TABLE billing_events (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    external_event_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice_paid', 'refund')),
    invoice_id TEXT NOT NULL,
    customer_external_id TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    payload TEXT NOT NULL,
    effect TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (program_id, source, external_event_id)
);
CREATE INDEX billing_events_program ON billing_events(program_id, received_at);

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    enrollment_id TEXT NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid')),
    reference TEXT,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP
);

-- kind: sale | clawback | adjustment; status: pending | approved | paid | reversed.
-- Paid rows are never edited; corrections are new rows. A commission always pays the advocate
-- whose customer bought: no kind pays for another enrollment's sales or for recruiting.
-- reverses_id: for a clawback, the paid sale it claws back; for a sale re-created after a
-- partial refund, the reversed sale it replaces.
CREATE TABLE commissions (
    id TEXT PRIMARY KEY,
    program_id TEXT NOT NULL REFERENCES programs(id) ON DELETE CASCADE,
    enrollment_id TEXT NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    billing_event_id TEXT NOT NULL REFERENCES billing_events(id) ON DELETE CASCADE,
    invoice_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('sale', 'clawback', 'adjustment')),
    base_minor BIGINT NOT NULL,
    rate_bps INTEGER NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'paid', 'reversed')),
    held BOOLEAN NOT NULL,
    held_reason TEXT,
    hold_until TIMESTAMP NOT NULL,
    tier_snapshot TEXT NOT NULL,
    payout_id TEXT REFERENCES payouts(id),
    reverses_id TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX commissions_enrollment ON commissions(enrollment_id, status);
CREATE INDEX commissions_due ON commissions(status, hold_until);
CREATE INDEX commissions_invoice ON commissions(program_id, invoice_id);
CREATE INDEX commissions_payout ON commissions(payout_id);
CREATE INDEX payouts_program ON payouts(program_id, created_at);

CREATE TABLE commission_transitions (
    id TEXT PRIMARY KEY,
    commission_id TEXT NOT NULL REFERENCES commissions(id) ON DELETE CASCADE,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX commission_transitions_commission ON commission_transitions(commission_id, at);
