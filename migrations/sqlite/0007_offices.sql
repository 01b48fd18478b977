-- no-transaction
-- v7: many offices in one database. Every row belongs to an office (`office`,
-- the id from the config; a single-office deployment is `default`), and what
-- was unique in the database is unique per office: one booking per office,
-- room and slot; a message handled once per office's mailbox; a refusal and a
-- desk fact per office. Primary keys cannot change in place in SQLite: the
-- tables whose key gains the office are rebuilt the documented way, as in v3.
PRAGMA foreign_keys = OFF;
BEGIN;

ALTER TABLE requests ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE bookings ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE outbox ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE history ADD COLUMN office TEXT NOT NULL DEFAULT 'default';

DROP INDEX bookings_one_per_room_and_slot;
CREATE UNIQUE INDEX bookings_one_per_room_and_slot ON bookings (office, room_id, slot_start) WHERE status = 'confirmed';
CREATE INDEX requests_office ON requests (office, state);
CREATE INDEX outbox_office ON outbox (office, status);

CREATE TABLE thread_ids_v7 (
    office      TEXT NOT NULL DEFAULT 'default',
    message_id  TEXT NOT NULL,
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    PRIMARY KEY (office, message_id)
);
INSERT INTO thread_ids_v7 (message_id, request_id) SELECT message_id, request_id FROM thread_ids;
DROP TABLE thread_ids;
ALTER TABLE thread_ids_v7 RENAME TO thread_ids;

CREATE TABLE processed_v7 (
    office       TEXT NOT NULL DEFAULT 'default',
    mailbox      TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    message_id   TEXT,
    raw_sha256   TEXT NOT NULL,
    request_id   INTEGER,
    outcome      TEXT NOT NULL,
    folder       TEXT NOT NULL,
    moved        INTEGER NOT NULL DEFAULT 0,
    processed_at TEXT NOT NULL,
    sender       TEXT,
    filing_owner TEXT,
    filing_until TEXT,
    PRIMARY KEY (office, mailbox, uidvalidity, uid)
);
INSERT INTO processed_v7 (mailbox, uidvalidity, uid, message_id, raw_sha256, request_id, outcome, folder, moved,
                          processed_at, sender, filing_owner, filing_until)
    SELECT mailbox, uidvalidity, uid, message_id, raw_sha256, request_id, outcome, folder, moved,
           processed_at, sender, filing_owner, filing_until FROM processed;
DROP TABLE processed;
ALTER TABLE processed_v7 RENAME TO processed;
CREATE INDEX processed_message_id ON processed (office, message_id);
CREATE INDEX processed_hash ON processed (office, raw_sha256);
CREATE INDEX processed_sender ON processed (office, sender, processed_at);

CREATE TABLE failures_v7 (
    office       TEXT NOT NULL DEFAULT 'default',
    mailbox      TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    attempts     INTEGER NOT NULL,
    last_error   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (office, mailbox, uidvalidity, uid)
);
INSERT INTO failures_v7 (mailbox, uidvalidity, uid, attempts, last_error, updated_at)
    SELECT mailbox, uidvalidity, uid, attempts, last_error, updated_at FROM failures;
DROP TABLE failures;
ALTER TABLE failures_v7 RENAME TO failures;

CREATE TABLE refusals_v7 (
    office         TEXT NOT NULL DEFAULT 'default',
    seeker_number  TEXT NOT NULL,
    reason         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (office, seeker_number)
);
INSERT INTO refusals_v7 (seeker_number, reason, created_at) SELECT seeker_number, reason, created_at FROM refusals;
DROP TABLE refusals;
ALTER TABLE refusals_v7 RENAME TO refusals;

CREATE TABLE meta_v7 (
    office  TEXT NOT NULL DEFAULT 'default',
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (office, key)
);
INSERT INTO meta_v7 (key, value) SELECT key, value FROM meta;
DROP TABLE meta;
ALTER TABLE meta_v7 RENAME TO meta;

COMMIT;
PRAGMA foreign_keys = ON;
