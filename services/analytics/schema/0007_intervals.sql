-- 15-minute interval aggregates (aligned to :00, :15, :30, :45 UTC) per site, queue, team and
-- operator (`entity` '' for the site itself, else "queues/q1", "teams/t1", "operators/o1"),
-- for reports (GetReport) and observed staffing. Written as events are applied, in the
-- transaction that records the event id: a call event adds to the interval of each fact it
-- sets for the first time (offered at, answered at, ...), an ended operator state to the
-- interval it ended in, a survey response to the interval it was submitted in (a resubmission
-- moves its answers). So a redelivered event changes nothing. RebuildIntervals replaces the
-- call columns of a range from the calls service's records.
--
-- Threshold-dependent counts are judged with the queue's settings when the fact was applied;
-- the row keeps them (NULL while no call was judged; `mixed` when calls of the row were judged
-- with different thresholds, e.g. a site whose queues differ).
CREATE TABLE interval_counts (
  site text NOT NULL,
  interval_start timestamptz NOT NULL,
  entity text NOT NULL,
  offered bigint NOT NULL DEFAULT 0,
  answered bigint NOT NULL DEFAULT 0,
  answered_within_threshold bigint NOT NULL DEFAULT 0,
  answer_wait_seconds double precision NOT NULL DEFAULT 0,
  abandoned bigint NOT NULL DEFAULT 0,
  short_abandoned bigint NOT NULL DEFAULT 0,
  abandoned_within_threshold bigint NOT NULL DEFAULT 0,
  abandoned_after_threshold bigint NOT NULL DEFAULT 0,
  handled bigint NOT NULL DEFAULT 0,
  handle_seconds double precision NOT NULL DEFAULT 0,
  transfers bigint NOT NULL DEFAULT 0,
  missing_wrap_ups bigint NOT NULL DEFAULT 0,
  csat_answers bigint NOT NULL DEFAULT 0,
  csat_satisfied bigint NOT NULL DEFAULT 0,
  nps_answers bigint NOT NULL DEFAULT 0,
  nps_promoters bigint NOT NULL DEFAULT 0,
  nps_detractors bigint NOT NULL DEFAULT 0,
  handling_seconds double precision NOT NULL DEFAULT 0,
  available_seconds double precision NOT NULL DEFAULT 0,
  service_level_threshold_seconds double precision,
  short_abandon_threshold_seconds double precision,
  mixed boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (site, interval_start, entity)
);
CREATE INDEX interval_counts_entity ON interval_counts (site, entity, interval_start);
