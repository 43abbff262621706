-- Staff and account lifecycle, API key scopes, webhook secret rotation (issue 9, item 3).

-- An operator disables an account: it cannot sign in; its sessions and API keys were revoked.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;

-- Space-separated scopes (exams, credentials, referrals, read). Keys made before scopes existed
-- keep the full access they had.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'credentials exams read referrals';

-- The webhook secret replaced by the last rotation (sealed like the current one) keeps verifying
-- signatures until previous_webhook_expires_at.
ALTER TABLE programs ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE programs ADD COLUMN previous_webhook_expires_at TIMESTAMP;
