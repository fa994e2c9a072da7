-- The analytics service's schema. `call_facts` keeps, per call leg of a site, the facts that
-- live figures are computed from: when it was offered to its queue, answered (with its wait),
-- abandoned (with its wait), handled (with its handle time), transferred, or its wrap-up timed
-- out. Each call event fills only its own columns (an upsert), so events applied in any order
-- give the same row; figures are computed at read time over each window with the queue's
-- thresholds, so a changed threshold applies to the live windows at once. Every event is
-- applied once by id (processed_events, common migration).

CREATE TABLE call_facts (
  site text NOT NULL,
  call_id text NOT NULL,
  queue text NOT NULL DEFAULT '',
  team text NOT NULL DEFAULT '',
  operator text NOT NULL DEFAULT '',
  outbound boolean NOT NULL DEFAULT false,
  offered_at timestamptz,
  answered_at timestamptz,
  answer_wait_seconds double precision,
  abandoned_at timestamptz,
  abandon_wait_seconds double precision,
  handled_at timestamptz,
  handle_seconds double precision,
  transferred_at timestamptz,
  wrap_up_timed_out_at timestamptz,
  PRIMARY KEY (site, call_id)
);
CREATE INDEX call_facts_offered ON call_facts (site, offered_at);
CREATE INDEX call_facts_answered ON call_facts (site, answered_at);
CREATE INDEX call_facts_abandoned ON call_facts (site, abandoned_at);
CREATE INDEX call_facts_handled ON call_facts (site, handled_at);
