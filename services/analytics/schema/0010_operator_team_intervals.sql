-- The teams each operator handled calls for, per 15-minute interval: TODAY's figures read the
-- hours before the last one from interval_counts, and this table says which operators belong to
-- a team there (include_team_operators) without scanning the day's call facts.
CREATE TABLE operator_team_intervals (
  site text NOT NULL,
  interval_start timestamptz NOT NULL,
  operator text NOT NULL,
  team text NOT NULL,
  PRIMARY KEY (site, interval_start, operator, team)
);
