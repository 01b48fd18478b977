-- v4: rate limits. Who sent each handled message, and which variant of an
-- error notice went to whom, so a flood is counted and each kind of error
-- notice goes to a sender at most once a day.
ALTER TABLE processed ADD COLUMN sender TEXT;
CREATE INDEX processed_sender ON processed (sender, processed_at);
ALTER TABLE outbox ADD COLUMN variant TEXT;
CREATE INDEX outbox_recipient ON outbox (recipient, kind, created_at);
