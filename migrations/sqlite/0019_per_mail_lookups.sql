-- The lookups each inbound mail makes, indexed by what they look up: the
-- sender's requests, the job-seeker number's recent requests, the
-- variants already sent to a recipient, the copies still awaited. Without
-- statistics SQLite took the office's recent rows (`requests_created`,
-- `outbox_office_kind_created`) and scanned them, so in a burst each
-- mail read every request made before it (measured: 9 % of the desk's CPU
-- in B-tree steps over 2,000 mails; BENCHMARKS.md).
CREATE INDEX requests_office_sender ON requests (office, seeker_address, created_at);
CREATE INDEX requests_office_number_created ON requests (office, seeker_number, created_at);
CREATE INDEX outbox_office_recipient ON outbox (office, recipient, kind, created_at);
CREATE INDEX outbox_copies_awaited ON outbox (office, sent_at) WHERE status = 'sent' AND appended = 0;
