DROP TABLE attempt_items;
DROP TABLE attempt_answers;
DROP TABLE attempts;
DROP TABLE vouchers;
DROP TABLE orders;
DROP TABLE exam_versions;
DROP TABLE exams;
