-- Issue 28. Every refusal set or lifted (第12条(1)), with the staff login that
-- did it: the refusals table keeps only those in force.
CREATE TABLE refusal_history (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    office         TEXT NOT NULL,
    seeker_number  TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('refused', 'lifted')),
    reason         TEXT,
    actor          TEXT NOT NULL,
    at             TEXT NOT NULL
);
CREATE INDEX refusal_history_office_at ON refusal_history (office, at);
