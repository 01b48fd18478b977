-- v8: several desks share the offices of one database. An office's inbox is
-- read by one desk at a time: the one holding its lease (who, until when, in
-- real time, and since when it holds it). The holder renews it well before it
-- runs out and stops serving the office when it cannot; another desk takes
-- an office whose lease has run out.
CREATE TABLE office_leases (
    office  TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    until   TEXT NOT NULL,
    since   TEXT NOT NULL
);
