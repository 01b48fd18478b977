-- Seekers our mail cannot reach (issue 23): a permanent delivery failure
-- marks the address; no more mail goes to it until staff have phoned
-- (handled_at), and the row stands on the 要対応 page until then.
CREATE TABLE unreachable (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    office      TEXT NOT NULL DEFAULT 'default',
    address     TEXT NOT NULL,
    request_id  INTEGER REFERENCES requests (id),
    -- The kind of the mail that came back (offer, confirm, reminder, …).
    kind        TEXT NOT NULL,
    status      TEXT,
    diagnostic  TEXT,
    at          TEXT NOT NULL,
    handled_at  TEXT,
    handled_by  TEXT
);
CREATE INDEX unreachable_open ON unreachable (office, address, handled_at);
