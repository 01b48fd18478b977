-- no-transaction
-- v3: what happens after a booking (cancelled, attended, no-show, closed by
-- staff), reminders, refusals and the staff digest. SQLite cannot change a
-- CHECK constraint in place, so `requests` and `bookings` are rebuilt the
-- documented way (sqlite.org/lang_altertable.html#otheralter): foreign keys
-- off, copy, drop, rename, all in one transaction. Hence no-transaction above.
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE requests_v3 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    ref                 TEXT NOT NULL UNIQUE,
    token               TEXT NOT NULL UNIQUE,
    state               TEXT NOT NULL CHECK (state IN
                        ('awaiting_info','offered','followed_up','booked','lapsed','withdrawn','needs_staff',
                         'cancelled','attended','no_show','closed')),
    seeker_address      TEXT NOT NULL,
    seeker_number       TEXT,                  -- copied out of `data` for the no-show rule and refusals
    data                TEXT NOT NULL,
    offered             TEXT NOT NULL DEFAULT '[]',
    offered_at          TEXT,
    followed_up_at      TEXT,
    offer_terms_sha256  TEXT,                  -- the terms attached to the latest offer
    booked_slot         TEXT,                  -- JSON slot of the live booking
    booked_at           TEXT,
    reminded_at         TEXT,
    contact_at          TEXT,                  -- last mail from the seeker while booked
    next_due_at         TEXT,
    thread_subject      TEXT NOT NULL DEFAULT '',
    last_inbound_id     TEXT,
    thread_refs         TEXT NOT NULL DEFAULT '[]',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
INSERT INTO requests_v3 (id, ref, token, state, seeker_address, data, offered, offered_at, followed_up_at,
                         next_due_at, thread_subject, last_inbound_id, thread_refs, created_at, updated_at)
    SELECT id, ref, token, state, seeker_address, data, offered, offered_at, followed_up_at,
           next_due_at, thread_subject, last_inbound_id, thread_refs, created_at, updated_at FROM requests;
UPDATE requests_v3 SET seeker_number = json_extract(data, '$.seeker_number');
DROP TABLE requests;
ALTER TABLE requests_v3 RENAME TO requests;
CREATE INDEX requests_due ON requests (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX requests_seeker_number ON requests (seeker_number);
CREATE INDEX requests_address ON requests (seeker_address);

CREATE TABLE bookings_v3 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    reservation         TEXT NOT NULL UNIQUE,
    request_id          INTEGER NOT NULL REFERENCES requests (id),
    room_id             TEXT NOT NULL,
    slot_start          TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('confirmed','cancelled','attended','no_show')),
    booked_by           TEXT NOT NULL DEFAULT 'seeker' CHECK (booked_by IN ('seeker','staff')),
    consent_message_id  TEXT,
    consent_from        TEXT,
    consent_at          TEXT,
    terms_sha256        TEXT,
    cancelled_by        TEXT CHECK (cancelled_by IN ('email','staff')),
    excused             INTEGER NOT NULL DEFAULT 0, -- a no-show with contact on the day
    outcome_at          TEXT,                       -- when it was cancelled / attended / a no-show
    created_at          TEXT NOT NULL
);
INSERT INTO bookings_v3 (id, reservation, request_id, room_id, slot_start, status, consent_message_id,
                         consent_from, consent_at, terms_sha256, created_at)
    SELECT id, reservation, request_id, room_id, slot_start, status, consent_message_id,
           consent_from, consent_at, terms_sha256, created_at FROM bookings;
DROP TABLE bookings;
ALTER TABLE bookings_v3 RENAME TO bookings;
CREATE UNIQUE INDEX bookings_one_per_room_and_slot ON bookings (room_id, slot_start) WHERE status = 'confirmed';
CREATE INDEX bookings_slot ON bookings (slot_start);
CREATE INDEX bookings_request ON bookings (request_id);

-- 第12条(1): the office stops offering service to a seeker.
CREATE TABLE refusals (
    seeker_number  TEXT PRIMARY KEY,
    reason         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

-- Small facts of the desk itself (the date of the last staff digest).
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

-- The history is append-only: the database refuses to rewrite it.
CREATE TRIGGER history_no_update BEFORE UPDATE ON history
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
CREATE TRIGGER history_no_delete BEFORE DELETE ON history
BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;

COMMIT;
PRAGMA foreign_keys = ON;
