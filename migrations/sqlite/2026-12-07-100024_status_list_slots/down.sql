ALTER TABLE status_lists ADD COLUMN allocated INTEGER NOT NULL DEFAULT 0;
UPDATE status_lists SET allocated = (
    SELECT s.allocated FROM status_list_slots s WHERE s.list_id = status_lists.id
);
DROP TABLE status_list_slots;
