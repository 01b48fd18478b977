-- Issue 28. Zoom events seen within their validity window, by the SHA-256 of
-- their signature (which covers the timestamp and the body): a genuine event
-- sent again is refused instead of being acted on twice.
CREATE TABLE webhook_events (
    key      TEXT PRIMARY KEY,
    seen_at  TEXT NOT NULL
);
CREATE INDEX webhook_events_seen ON webhook_events (seen_at);
