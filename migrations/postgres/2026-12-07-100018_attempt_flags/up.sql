-- Questions a candidate flagged for review during an attempt (bank question ids; the client names
-- them by the attempt's handles). Shown on the taking page's navigator and the summary before submit.
CREATE TABLE attempt_flags (
    attempt_id TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    flagged_at TIMESTAMP NOT NULL,
    PRIMARY KEY (attempt_id, question_id)
);
