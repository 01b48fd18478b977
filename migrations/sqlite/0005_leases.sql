-- Every claim on an outbox row is a lease: who holds it and until when
-- (real time). A sender or copier that dies frees its rows when the lease
-- runs out; nothing is released blindly at start-up. The old in-progress
-- copy marker (appended = 2) becomes a plain "not yet copied".
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
UPDATE outbox SET appended = 0 WHERE appended = 2;
