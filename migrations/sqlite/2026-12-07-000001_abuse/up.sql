-- Mails holding one-time links (verification, password reset) lose their body once sent.
ALTER TABLE outbox ADD COLUMN scrub_after_send BOOLEAN NOT NULL DEFAULT 0;
