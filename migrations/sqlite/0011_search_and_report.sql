-- The staff page's search and monthly report with years of history:
-- exact keys and time ranges by index, names by a small covering index.

-- The seeker's name without spaces (half or full width), kept beside `data`
-- so a name search reads an index, not every request's JSON.
ALTER TABLE requests ADD COLUMN name_key TEXT;
UPDATE requests SET name_key = REPLACE(REPLACE(json_extract(data, '$.name'), ' ', ''), '　', '')
 WHERE json_valid(data) AND json_type(data, '$.name') = 'text';
CREATE INDEX requests_name_key ON requests (office, name_key);
CREATE INDEX requests_office_number ON requests (office, seeker_number);
CREATE INDEX requests_office_address ON requests (office, lower(seeker_address));
CREATE INDEX requests_created ON requests (office, created_at);
CREATE INDEX bookings_office_created ON bookings (office, created_at);
CREATE INDEX bookings_office_slot ON bookings (office, slot_start);
CREATE INDEX bookings_office_outcome ON bookings (office, outcome_at);
CREATE INDEX bookings_office_reservation ON bookings (office, reservation);
CREATE INDEX outbox_office_kind_created ON outbox (office, kind, created_at);
CREATE INDEX history_office_state_at ON history (office, to_state, at);
CREATE INDEX history_request_event ON history (request_id, event);
