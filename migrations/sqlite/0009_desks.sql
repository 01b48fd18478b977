-- v9: the desk processes sharing the offices, each until when it last said
-- it is alive: each takes only its fair share of the offices, so two desks
-- divide them and a desk that joins later gets some.
CREATE TABLE desks (
    process TEXT PRIMARY KEY,
    -- The offices it serves (core::share::offices_fingerprint): desks
    -- divide only the offices they all serve.
    offices TEXT NOT NULL,
    until   TEXT NOT NULL
);
