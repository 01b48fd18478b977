-- A Zoom meeting per booking (issue 14). The meeting a booking's seeker
-- was sent lives on the booking; the work of getting there (create, adopt,
-- delete, fall back) is one job row per booking, claimed under a lease.
ALTER TABLE bookings ADD COLUMN meeting_id TEXT;
ALTER TABLE bookings ADD COLUMN meeting_passcode TEXT;
ALTER TABLE bookings ADD COLUMN meeting_url TEXT;
ALTER TABLE bookings ADD COLUMN meeting_host TEXT;
CREATE INDEX bookings_meeting ON bookings (meeting_id) WHERE meeting_id IS NOT NULL;

CREATE TABLE meeting_jobs (
    booking_id      INTEGER PRIMARY KEY REFERENCES bookings (id),
    office          TEXT NOT NULL DEFAULT 'default',
    -- 'meeting': the booking needs one; 'none': whatever exists goes.
    want            TEXT NOT NULL CHECK (want IN ('meeting', 'none')),
    -- The seeker has been sent a way to join (a meeting or a fallback room).
    confirmed       INTEGER NOT NULL DEFAULT 0,
    fallback_room   TEXT,
    -- A create was sent and its answer never came: look before creating.
    maybe_created   INTEGER NOT NULL DEFAULT 0,
    host_index      INTEGER NOT NULL DEFAULT 0,
    staff_told      INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    done            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX meeting_jobs_due ON meeting_jobs (office, done, next_attempt_at);
