-- The slot counter of a status list moves to its own small row: claiming a slot for every
-- issuance rewrote the whole status list row, its 16 KB of bits and the signed list with it.
CREATE TABLE status_list_slots (
    list_id TEXT PRIMARY KEY REFERENCES status_lists(id) ON DELETE CASCADE,
    allocated INTEGER NOT NULL
);
INSERT INTO status_list_slots (list_id, allocated) SELECT id, allocated FROM status_lists;
ALTER TABLE status_lists DROP COLUMN allocated;
