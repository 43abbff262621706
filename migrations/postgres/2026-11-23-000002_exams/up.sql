-- Exams: the current metadata is mirrored on `exams` for listing; every imported bank is an immutable
-- version holding the normalized bank as JSON.
CREATE TABLE exams (
    id TEXT PRIMARY KEY,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    current_version_id TEXT,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    pass_percent INTEGER NOT NULL,
    validity_months INTEGER NOT NULL,
    allow_review BOOLEAN NOT NULL,
    renewal_exam_slug TEXT,
    retake_cooldown_days INTEGER NOT NULL,
    retake_max_per_year INTEGER NOT NULL,
    retake_wait_after_pass_days INTEGER NOT NULL,
    questions_per_form INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (vendor_id, slug)
);

CREATE TABLE exam_versions (
    id TEXT PRIMARY KEY,
    exam_id TEXT NOT NULL REFERENCES exams(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    label TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    bank TEXT NOT NULL,
    source_format TEXT NOT NULL,
    source_name TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (exam_id, number)
);

-- Revenue: one order per paid entitlement. provider: voucher | manual; status: pending | paid.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    exam_id TEXT NOT NULL REFERENCES exams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    reference TEXT,
    attempt_id TEXT,
    created_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP,
    marked_paid_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX orders_exam_user ON orders(exam_id, user_id);

CREATE TABLE vouchers (
    id TEXT PRIMARY KEY,
    exam_id TEXT NOT NULL REFERENCES exams(id) ON DELETE CASCADE,
    code TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    redeemed_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    redeemed_at TIMESTAMP,
    order_id TEXT REFERENCES orders(id) ON DELETE SET NULL
);
CREATE INDEX vouchers_batch ON vouchers(batch_id);

-- status: open | graded. `form` records exactly what was shown (question and choice order).
CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    exam_id TEXT NOT NULL REFERENCES exams(id) ON DELETE CASCADE,
    version_id TEXT NOT NULL REFERENCES exam_versions(id),
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    order_id TEXT REFERENCES orders(id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    form TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    deadline TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    graded_at TIMESTAMP,
    graded_by TEXT,
    score_bp INTEGER,
    passed BOOLEAN,
    result TEXT
);
CREATE UNIQUE INDEX attempts_one_open ON attempts(exam_id, user_id) WHERE status = 'open';
CREATE INDEX attempts_user ON attempts(user_id, exam_id);
CREATE INDEX attempts_due ON attempts(status, deadline);

CREATE TABLE attempt_answers (
    attempt_id TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    choices TEXT NOT NULL,
    saved_at TIMESTAMP NOT NULL,
    PRIMARY KEY (attempt_id, question_id)
);

-- Per-item outcome written at grading; item statistics read these.
CREATE TABLE attempt_items (
    attempt_id TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    domain_id TEXT NOT NULL,
    points_milli INTEGER NOT NULL,
    correct BOOLEAN NOT NULL,
    PRIMARY KEY (attempt_id, question_id)
);
