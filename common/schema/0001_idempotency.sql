-- Exactly-once bookkeeping (common/idempotency.h): answers to requests by request_id, and the
-- ids of events already applied from the event stream. Both are written in the same
-- transaction as the effect they guard.
CREATE TABLE request_log (
  method text NOT NULL,
  request_id text NOT NULL,
  response bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (method, request_id)
);
-- Old answers are pruned by age (a client retries within minutes, not weeks).
CREATE INDEX request_log_created_at ON request_log (created_at);

CREATE TABLE processed_events (
  event_id text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_applied_at ON processed_events (applied_at);
