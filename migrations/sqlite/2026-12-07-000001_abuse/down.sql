ALTER TABLE outbox DROP COLUMN scrub_after_send;
