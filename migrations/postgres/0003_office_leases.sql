-- Several desks share the offices of one database (SQLite's v8): an office's
-- inbox is read by the desk holding its lease, renewed well before it runs
-- out; another desk takes an office whose lease has run out.
CREATE TABLE office_leases (
    office  TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    until   TEXT COLLATE "C" NOT NULL,
    since   TEXT COLLATE "C" NOT NULL
);
