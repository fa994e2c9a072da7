-- Indexes for the dialler's 200 ms pass: the open dials of a campaign, and its due entries by
-- time (a list mostly scheduled for later is not walked in full).
CREATE INDEX dials_campaign_open ON dials (campaign_id) WHERE state IN ('new', 'ready', 'sent');
CREATE INDEX campaign_entries_next ON campaign_entries (campaign_id, next_attempt_time)
  WHERE state IN (1, 2);
