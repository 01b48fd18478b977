-- Issue 28: see migrations/sqlite/0016_login_throttle.sql.
CREATE TABLE login_throttle (
    key           TEXT COLLATE "C" PRIMARY KEY,
    failures      BIGINT NOT NULL DEFAULT 0,
    locked_until  TEXT COLLATE "C",
    last_at       TEXT COLLATE "C" NOT NULL
);
