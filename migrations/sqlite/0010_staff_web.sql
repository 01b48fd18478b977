-- v10: the staff web page. Accounts (an Argon2 hash, never the password),
-- server-side sessions (the SHA-256 of the token: a copy of the database
-- opens no session), and who acted in each history row a staff member made.
CREATE TABLE staff_users (
    login          TEXT PRIMARY KEY,
    office         TEXT NOT NULL,
    admin          INTEGER NOT NULL DEFAULT 0,
    password_hash  TEXT NOT NULL,
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL
);
CREATE TABLE web_sessions (
    token_sha256  TEXT PRIMARY KEY,
    login         TEXT NOT NULL,
    csrf          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX web_sessions_login ON web_sessions (login);
ALTER TABLE history ADD COLUMN actor TEXT;
-- The text of a mail that went to staff, for the 要対応 page (staff read it
-- there, not only in the mailbox folder). Personal data: purged with its
-- request (第8条).
CREATE TABLE staff_mails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    office       TEXT NOT NULL,
    request_id   INTEGER NOT NULL REFERENCES requests (id),
    received_at  TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX staff_mails_request ON staff_mails (office, request_id);
