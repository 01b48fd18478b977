-- Issue 28. Login failures counted per (login name, client address) and per
-- client address, whether the name exists or not: a lock set from one address
-- does not keep the staff member out from another, and a name that does not
-- exist is slowed down exactly like one that does. Keys hold a hash of the
-- name, never the name.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    last_at       TEXT NOT NULL
);
