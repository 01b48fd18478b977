-- Issue 24. A slot that freed up and was offered to a seeker who wished for
-- it (キャンセル待ち): pending on the request, each offer kept with its outcome
-- (booked, taken by someone else first, declined, dropped) for staff and the report.
ALTER TABLE requests ADD COLUMN waitlist_slot TEXT;
CREATE TABLE waitlist_offers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    office      TEXT NOT NULL DEFAULT 'default',
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    slot_start  TEXT NOT NULL,
    offered_at  TEXT NOT NULL,
    outcome     TEXT CHECK (outcome IN ('booked','taken','declined','dropped')),
    outcome_at  TEXT
);
CREATE INDEX waitlist_offers_slot ON waitlist_offers (office, slot_start);
CREATE INDEX waitlist_offers_request ON waitlist_offers (request_id);

-- Days staff closed at short notice (臨時閉庁), with who and why; a reopened
-- day keeps its row (reopened_at) for the history.
CREATE TABLE closures (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    office      TEXT NOT NULL DEFAULT 'default',
    day         TEXT NOT NULL,
    reason      TEXT NOT NULL,
    closed_by   TEXT NOT NULL,
    closed_at   TEXT NOT NULL,
    reopened_by TEXT,
    reopened_at TEXT
);
CREATE UNIQUE INDEX closures_open ON closures (office, day) WHERE reopened_at IS NULL;
