-- Own metric settings of queues and sites ("queues/q1", "sites/msk"); NULL inherits (a queue
-- from its site, a site from the service's flags). `version` makes the etag.
CREATE TABLE metric_settings (
  name text PRIMARY KEY,
  service_level_threshold_seconds double precision,
  short_abandon_threshold_seconds double precision,
  service_level_definition text,
  service_level_target double precision,
  asa_target_seconds double precision,
  version bigint NOT NULL DEFAULT 1,
  update_time timestamptz NOT NULL DEFAULT now()
);
