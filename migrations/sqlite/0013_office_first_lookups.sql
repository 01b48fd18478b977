-- Look-ups a desk makes on every pass and every mail, indexed with the
-- office first. Without them SQLite (which keeps no statistics unless told
-- to) takes any index that starts with the office and reads all of the
-- office's rows: with 100,000 past bookings the timers' query alone read
-- every request on every pass.
CREATE INDEX requests_office_due ON requests (office, next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX bookings_office_request ON bookings (office, request_id);
CREATE INDEX outbox_office_request ON outbox (office, request_id);
CREATE INDEX processed_office_request ON processed (office, request_id);
CREATE INDEX bookings_office_meeting ON bookings (office, meeting_id) WHERE meeting_id IS NOT NULL;
