-- Preview dialling: an entry held for the operator who looks at it, until the hold expires.
ALTER TABLE campaign_entries ADD COLUMN held_by text NOT NULL DEFAULT '';
ALTER TABLE campaign_entries ADD COLUMN hold_until timestamptz;
CREATE INDEX campaign_entries_held ON campaign_entries (held_by) WHERE held_by <> '';
