-- The staff web page (SQLite's v10): accounts, server-side sessions, and
-- who acted in each history row a staff member made.
CREATE TABLE staff_users (
    login          TEXT PRIMARY KEY,
    office         TEXT NOT NULL,
    admin          BIGINT NOT NULL DEFAULT 0,
    password_hash  TEXT NOT NULL,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   TEXT COLLATE "C",
    created_at     TEXT COLLATE "C" NOT NULL
);
CREATE TABLE web_sessions (
    token_sha256  TEXT PRIMARY KEY,
    login         TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX web_sessions_login ON web_sessions (login);
ALTER TABLE history ADD COLUMN actor TEXT;
-- The text of a mail that went to staff, for the 要対応 page (staff read it
-- there, not only in the mailbox folder). Personal data: purged with its
-- request (第8条).
CREATE TABLE staff_mails (
    id BIGSERIAL PRIMARY KEY,
    office       TEXT NOT NULL,
    request_id   BIGINT NOT NULL REFERENCES requests (id),
    received_at  TEXT COLLATE "C" NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX staff_mails_request ON staff_mails (office, request_id);
