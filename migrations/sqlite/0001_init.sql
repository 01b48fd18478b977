-- yoyaku schema v1. Append-only: never edit after it has run; add a new file.
-- Times are UTC RFC 3339 strings ("2026-12-03T02:00:00Z"), so they sort.

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ref             TEXT NOT NULL UNIQUE,      -- 受付番号 shown to people
    token           TEXT NOT NULL UNIQUE,      -- unguessable; binds replies
    state           TEXT NOT NULL CHECK (state IN
                    ('awaiting_info','offered','followed_up','booked','lapsed','withdrawn','needs_staff')),
    seeker_address  TEXT NOT NULL,             -- offers go here; consent must come from here
    data            TEXT NOT NULL,             -- JSON: what the seeker told us
    offered         TEXT NOT NULL DEFAULT '[]',-- JSON: options of the latest offer
    offered_at      TEXT,
    followed_up_at  TEXT,
    next_due_at     TEXT,                      -- next timer (follow-up or lapse)
    thread_subject  TEXT NOT NULL DEFAULT '',
    last_inbound_id TEXT,
    thread_refs     TEXT NOT NULL DEFAULT '[]',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX requests_due ON requests (next_due_at) WHERE next_due_at IS NOT NULL;

-- Every Message-ID of a request's thread (theirs and ours), to match replies.
CREATE TABLE thread_ids (
    message_id  TEXT PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests (id)
);

CREATE TABLE bookings (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    reservation         TEXT NOT NULL UNIQUE,  -- 予約番号
    request_id          INTEGER NOT NULL REFERENCES requests (id),
    room_id             TEXT NOT NULL,
    slot_start          TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('confirmed','cancelled')),
    consent_message_id  TEXT,
    consent_from        TEXT,
    consent_at          TEXT,
    terms_sha256        TEXT,
    created_at          TEXT NOT NULL
);
-- The database, not only the code, forbids a double booking.
CREATE UNIQUE INDEX bookings_one_per_room_and_slot ON bookings (room_id, slot_start) WHERE status = 'confirmed';
CREATE INDEX bookings_slot ON bookings (slot_start);

-- Messages handled, by mailbox UIDVALIDITY+UID; also by Message-ID and hash.
CREATE TABLE processed (
    mailbox      TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    message_id   TEXT,
    raw_sha256   TEXT NOT NULL,
    request_id   INTEGER,
    outcome      TEXT NOT NULL,
    folder       TEXT NOT NULL,                -- where the message is filed
    moved        INTEGER NOT NULL DEFAULT 0,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
CREATE INDEX processed_message_id ON processed (message_id);
CREATE INDEX processed_hash ON processed (raw_sha256);

-- Mail to send, written in the same transaction as the state change.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      TEXT NOT NULL UNIQUE,
    request_id      INTEGER,
    kind            TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    raw             BLOB NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    appended        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);

-- Append-only history of state changes.
CREATE TABLE history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    at          TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    event       TEXT NOT NULL
);
CREATE INDEX history_request ON history (request_id);
