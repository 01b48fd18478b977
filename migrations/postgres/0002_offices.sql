-- Many offices in one database (SQLite's v7): every row belongs to an office
-- (the id from the config; a single-office deployment is `default`), and what
-- was unique in the database is unique per office.
ALTER TABLE requests ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE bookings ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE outbox ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE history ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE thread_ids ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE processed ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE failures ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE refusals ADD COLUMN office TEXT NOT NULL DEFAULT 'default';
ALTER TABLE meta ADD COLUMN office TEXT NOT NULL DEFAULT 'default';

DROP INDEX bookings_one_per_room_and_slot;
CREATE UNIQUE INDEX bookings_one_per_room_and_slot ON bookings (office, room_id, slot_start) WHERE status = 'confirmed';
CREATE INDEX requests_office ON requests (office, state);
CREATE INDEX outbox_office ON outbox (office, status);

ALTER TABLE thread_ids DROP CONSTRAINT thread_ids_pkey, ADD PRIMARY KEY (office, message_id);
ALTER TABLE processed DROP CONSTRAINT processed_pkey, ADD PRIMARY KEY (office, mailbox, uidvalidity, uid);
ALTER TABLE failures DROP CONSTRAINT failures_pkey, ADD PRIMARY KEY (office, mailbox, uidvalidity, uid);
ALTER TABLE refusals DROP CONSTRAINT refusals_pkey, ADD PRIMARY KEY (office, seeker_number);
ALTER TABLE meta DROP CONSTRAINT meta_pkey, ADD PRIMARY KEY (office, key);

DROP INDEX processed_message_id;
DROP INDEX processed_hash;
DROP INDEX processed_sender;
CREATE INDEX processed_message_id ON processed (office, message_id);
CREATE INDEX processed_hash ON processed (office, raw_sha256);
CREATE INDEX processed_sender ON processed (office, sender, processed_at);
