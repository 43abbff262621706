-- Tiers get a name for people ("Certified partner"); the code stays the identifier of the API,
-- enrollments and commission snapshots. Existing tiers are named after their code:
-- "silver-plus" becomes "Silver plus".
ALTER TABLE tiers ADD COLUMN name TEXT NOT NULL DEFAULT '';
UPDATE tiers SET name = upper(substr(code, 1, 1)) || replace(replace(substr(code, 2), '-', ' '), '_', ' ');
