-- Claimed invitations whose claim lapsed are due again: the due index covers both states
-- (invitations.next_attempt_time holds the claim's lapse while an invitation is claimed).
DROP INDEX invitations_due;
CREATE INDEX invitations_due ON invitations (channel, next_attempt_time)
  WHERE status IN (1, 2) AND next_attempt_time IS NOT NULL;
