-- Issue 28: see migrations/sqlite/0017_webhook_events.sql.
CREATE TABLE webhook_events (
    key      TEXT COLLATE "C" PRIMARY KEY,
    seen_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX webhook_events_seen ON webhook_events (seen_at);
