-- When an invitation lapses (link validity, post-call validity), for the sweeper that moves
-- lapsed invitations to EXPIRED.
ALTER TABLE invitations ADD COLUMN expire_time timestamptz;
CREATE INDEX invitations_expiring ON invitations (expire_time)
  WHERE status IN (1, 2) AND expire_time IS NOT NULL;
CREATE INDEX responses_expiring ON responses (expire_time) WHERE state = 1;
