ALTER TABLE programs DROP COLUMN previous_webhook_expires_at;
ALTER TABLE programs DROP COLUMN previous_webhook_secret;
ALTER TABLE api_keys DROP COLUMN scopes;
ALTER TABLE users DROP COLUMN disabled_at;
