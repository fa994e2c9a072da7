-- Time operators spent in each state, one row per ended state (from OperatorStateChanged:
-- the previous state and its duration, ending at the event's time), for occupancy. Written
-- in the transaction that records the event id, so a redelivered event adds nothing.
CREATE TABLE operator_spans (
  site text NOT NULL,
  operator text NOT NULL,
  team text NOT NULL DEFAULT '',
  queues text[] NOT NULL DEFAULT '{}',
  state smallint NOT NULL,
  ended_at timestamptz NOT NULL,
  seconds double precision NOT NULL
);
CREATE INDEX operator_spans_ended ON operator_spans (site, ended_at);
