DROP TABLE outbox;
DROP TABLE api_keys;
DROP TABLE vendor_members;
DROP TABLE vendors;
DROP TABLE email_tokens;
DROP TABLE sessions;
DROP TABLE users;
