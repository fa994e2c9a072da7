-- Jobs recomputing the call columns of stored 15-minute intervals from the calls service's
-- records (RebuildIntervals). `state` is RebuildState (1 PENDING, 2 RUNNING, 3 SUCCEEDED,
-- 4 FAILED, 5 CANCELLED).
CREATE TABLE interval_rebuilds (
  id text PRIMARY KEY,
  site text NOT NULL,
  range_start timestamptz NOT NULL,
  range_end timestamptz NOT NULL,
  queues text[] NOT NULL DEFAULT '{}',
  dry_run boolean NOT NULL DEFAULT false,
  state smallint NOT NULL,
  intervals_total bigint NOT NULL DEFAULT 0,
  intervals_done bigint NOT NULL DEFAULT 0,
  calls_read bigint NOT NULL DEFAULT 0,
  intervals_changed bigint NOT NULL DEFAULT 0,
  create_time timestamptz NOT NULL DEFAULT now(),
  start_time timestamptz,
  end_time timestamptz,
  error_code integer NOT NULL DEFAULT 0,
  error_message text NOT NULL DEFAULT ''
);
CREATE INDEX interval_rebuilds_created ON interval_rebuilds (create_time DESC, id DESC);
