DROP TABLE credential_reminders;
DROP TABLE credentials;
DROP TABLE status_lists;
DROP TABLE issuer_keys;
