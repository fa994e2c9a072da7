-- When the facts of a call last changed (the apply time, not the event time): old rows are
-- pruned by it, and live queries look only at rows changed since shortly before the window
-- starts (a row changed by an event of the window was changed after the window started), which
-- an index serves instead of a scan of the site's rows.
ALTER TABLE call_facts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX call_facts_updated ON call_facts (site, updated_at);
