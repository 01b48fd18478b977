-- Filing a handled message (the MOVE out of the inbox) is a lease too: the
-- desk that committed it files it; another desk files it only once that
-- lease has run out (its holder died between commit and MOVE). Two desks
-- moving one message could leave two copies in the target folder.
ALTER TABLE processed ADD COLUMN filing_owner TEXT;
ALTER TABLE processed ADD COLUMN filing_until TEXT;
