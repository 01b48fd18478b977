-- The lookups each inbound mail makes, indexed by what they look up: the
-- sender's requests, the job-seeker number's recent requests, the
-- variants already sent to a recipient, the copies still awaited (as on
-- SQLite, migrations/sqlite/0019, where their absence made a burst scan
-- every request made before each mail).
CREATE INDEX requests_office_sender ON requests (office, seeker_address, created_at);
CREATE INDEX requests_office_number_created ON requests (office, seeker_number, created_at);
CREATE INDEX outbox_office_recipient ON outbox (office, recipient, kind, created_at);
CREATE INDEX outbox_copies_awaited ON outbox (office, sent_at) WHERE status = 'sent' AND appended = 0;
