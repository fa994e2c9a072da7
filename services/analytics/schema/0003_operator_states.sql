-- The current state of each operator of a site, from OperatorStateChanged events (the latest
-- event by occurrence time wins, so replicas applying events out of order agree): gauges
-- (operators by state per site, team and served queue) and the status of operator entities.
CREATE TABLE operator_states (
  site text NOT NULL,
  operator text NOT NULL,
  team text NOT NULL DEFAULT '',
  state smallint NOT NULL,
  since timestamptz NOT NULL,
  reason_code text NOT NULL DEFAULT '',
  call text NOT NULL DEFAULT '',
  queues text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (site, operator)
);
