DROP INDEX users_profile_handle;
ALTER TABLE users DROP COLUMN profile_handle;
ALTER TABLE attempts DROP COLUMN preview;
ALTER TABLE exam_versions DROP COLUMN state;
