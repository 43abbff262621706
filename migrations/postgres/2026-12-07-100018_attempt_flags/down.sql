DROP TABLE attempt_flags;
