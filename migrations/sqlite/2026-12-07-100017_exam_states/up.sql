-- Exam version states, staff previews, public earner profiles (issue 13, items 2 and 8).

-- draft → published → retired. `exams.current_version_id` is the one published version; versions
-- that were current before states existed are published, the others retired.
ALTER TABLE exam_versions ADD COLUMN state TEXT NOT NULL DEFAULT 'draft';
UPDATE exam_versions SET state = 'published'
  WHERE id IN (SELECT current_version_id FROM exams WHERE current_version_id IS NOT NULL);
UPDATE exam_versions SET state = 'retired' WHERE state = 'draft';

-- A staff member's preview of a version: never issues a credential, never enters statistics,
-- results or the retake policy.
ALTER TABLE attempts ADD COLUMN preview BOOLEAN NOT NULL DEFAULT FALSE;

-- The opt-in public earner profile `/people/{handle}` (no handle = no profile).
ALTER TABLE users ADD COLUMN profile_handle TEXT;
CREATE UNIQUE INDEX users_profile_handle ON users(profile_handle);
