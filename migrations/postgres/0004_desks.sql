-- The desk processes sharing the offices (SQLite's v9): each takes only its
-- fair share of the offices.
CREATE TABLE desks (
    process TEXT PRIMARY KEY,
    -- The offices it serves (core::share::offices_fingerprint): desks
    -- divide only the offices they all serve.
    offices TEXT NOT NULL,
    until   TEXT COLLATE "C" NOT NULL
);
