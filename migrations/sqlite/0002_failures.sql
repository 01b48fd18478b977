-- Handling failures per message, so the poison rule (3 failures → the
-- failed folder and a note to staff) holds across restarts and `once` runs.
CREATE TABLE failures (
    mailbox      TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    last_error   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (mailbox, uidvalidity, uid)
);
