-- When a call failed (CallFailed): a failed call is no longer waiting.
ALTER TABLE call_facts ADD COLUMN failed_at timestamptz;
CREATE INDEX call_facts_waiting ON call_facts (site, offered_at)
  WHERE answered_at IS NULL AND abandoned_at IS NULL AND failed_at IS NULL
    AND transferred_at IS NULL AND handled_at IS NULL;
