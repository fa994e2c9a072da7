-- The routing configuration of the calls service (CallsAdminService): skills, teams, operators,
-- queues and queue memberships. PostgreSQL is the source of truth; Redis holds the copy that
-- routing reads (services/calls/routing_config.h), written after every change through
-- `routing_pending` (services/calls/admin_store.h).
--
-- Conventions: ids are UUIDv7 made by the service; `revision` is the etag, raised by every
-- change; durations are whole milliseconds; enums hold the proto's numbers; `position` keeps
-- the order in which a list was given. Operators and queues are deleted softly (delete_time set)
-- so that call records keep their names; skills, teams and memberships are deleted for real.

CREATE TABLE skills (
  id uuid PRIMARY KEY,
  display_name text NOT NULL,
  description text NOT NULL DEFAULT '',
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL
);
-- Names are unique regardless of case: "English" and "english" would be one skill to people.
CREATE UNIQUE INDEX skills_display_name_key ON skills (lower(display_name));
CREATE INDEX skills_list ON skills (display_name, id);

CREATE TABLE teams (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  display_name text NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL
);
CREATE UNIQUE INDEX teams_display_name_key ON teams (site, lower(display_name));
CREATE INDEX teams_list ON teams (display_name, id);

CREATE TABLE operators (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  login text NOT NULL,
  display_name text NOT NULL,
  role smallint NOT NULL CHECK (role BETWEEN 1 AND 3),
  -- A deleted team leaves deleted operators without one (live operators block the deletion).
  team_id uuid REFERENCES teams (id) ON DELETE SET NULL,
  endpoint text NOT NULL DEFAULT '',
  languages text[] NOT NULL DEFAULT '{}',
  disabled boolean NOT NULL DEFAULT false,
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  delete_time timestamptz
);
-- A login names one live operator: a deleted operator's login may go to a new record (moving an
-- operator to another site is done by deleting and re-creating them).
CREATE UNIQUE INDEX operators_login_key ON operators (login) WHERE delete_time IS NULL;
CREATE INDEX operators_list ON operators (display_name, id);
CREATE INDEX operators_team ON operators (team_id);

CREATE TABLE operator_skills (
  operator_id uuid NOT NULL REFERENCES operators (id),
  skill_id uuid NOT NULL REFERENCES skills (id),
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 10),
  position smallint NOT NULL,
  PRIMARY KEY (operator_id, skill_id)
);
CREATE INDEX operator_skills_skill ON operator_skills (skill_id);

CREATE TABLE team_supervisors (
  team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
  operator_id uuid NOT NULL REFERENCES operators (id),
  position smallint NOT NULL,
  PRIMARY KEY (team_id, operator_id)
);
CREATE INDEX team_supervisors_operator ON team_supervisors (operator_id);

CREATE TABLE queues (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  display_name text NOT NULL,
  description text NOT NULL DEFAULT '',
  strategy smallint NOT NULL CHECK (strategy BETWEEN 1 AND 5),
  ring_timeout_ms bigint NOT NULL,
  wrap_up_time_limit_ms bigint NOT NULL,
  -- 0: never
  max_misses_before_not_ready integer NOT NULL,
  service_level_threshold_ms bigint NOT NULL,
  service_level_target_percent smallint NOT NULL,
  short_abandon_threshold_ms bigint NOT NULL,
  -- NULL: abusive callers are routed like others; then de_escalation_min_level is 0.
  de_escalation_skill_id uuid REFERENCES skills (id),
  de_escalation_min_level smallint NOT NULL,
  -- A serialized contactcentre.common.v1.WeeklySchedule, read and written whole; NULL: always
  -- open.
  opening_hours bytea,
  default_priority smallint NOT NULL,
  vip_priority_boost smallint NOT NULL,
  tier_wait_ms bigint NOT NULL,
  -- QueueOverflow; NULL max wait: no limit; 0 max waiting calls: no limit.
  overflow_max_wait_ms bigint,
  overflow_max_waiting_calls integer NOT NULL DEFAULT 0,
  overflow_target_queue_id uuid REFERENCES queues (id),
  overflow_forward_e164 text NOT NULL DEFAULT '',
  overflow_forward_raw text NOT NULL DEFAULT '',
  overflow_announcement text NOT NULL DEFAULT '',
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  delete_time timestamptz
);
CREATE UNIQUE INDEX queues_display_name_key ON queues (site, lower(display_name))
  WHERE delete_time IS NULL;
CREATE INDEX queues_list ON queues (display_name, id);
CREATE INDEX queues_overflow_target ON queues (overflow_target_queue_id)
  WHERE overflow_target_queue_id IS NOT NULL;
CREATE INDEX queues_de_escalation_skill ON queues (de_escalation_skill_id)
  WHERE de_escalation_skill_id IS NOT NULL;

CREATE TABLE queue_required_skills (
  queue_id uuid NOT NULL REFERENCES queues (id),
  skill_id uuid NOT NULL REFERENCES skills (id),
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 10),
  position smallint NOT NULL,
  PRIMARY KEY (queue_id, skill_id)
);
CREATE INDEX queue_required_skills_skill ON queue_required_skills (skill_id);

-- Each number belongs to at most one queue: the primary key is also the OfferCall lookup. A
-- deleted queue gives its numbers up.
CREATE TABLE queue_dialled_numbers (
  e164 text PRIMARY KEY,
  queue_id uuid NOT NULL REFERENCES queues (id),
  -- The number as it was typed, returned as PhoneNumber.raw.
  raw text NOT NULL DEFAULT '',
  position smallint NOT NULL
);
CREATE INDEX queue_dialled_numbers_queue ON queue_dialled_numbers (queue_id);

CREATE TABLE queue_disposition_codes (
  queue_id uuid NOT NULL REFERENCES queues (id),
  code text NOT NULL,
  label text NOT NULL,
  effect smallint NOT NULL DEFAULT 0,
  disabled boolean NOT NULL DEFAULT false,
  position smallint NOT NULL,
  PRIMARY KEY (queue_id, code)
);

-- Round robin visits a queue's members in a fixed order: the order of joining, from a sequence
-- so that a value is never given twice (also across queues), even when members leave and join.
CREATE SEQUENCE queue_membership_order;

CREATE TABLE queue_memberships (
  queue_id uuid NOT NULL REFERENCES queues (id),
  operator_id uuid NOT NULL REFERENCES operators (id),
  tier smallint NOT NULL CHECK (tier BETWEEN 1 AND 9),
  penalty smallint NOT NULL CHECK (penalty BETWEEN 0 AND 100),
  -- 0: the operator's level in the queue's first required skill, or 1 (resolved for routing).
  skill_level smallint NOT NULL CHECK (skill_level BETWEEN 0 AND 10),
  paused boolean NOT NULL DEFAULT false,
  round_robin_order bigint NOT NULL DEFAULT nextval('queue_membership_order'),
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  PRIMARY KEY (queue_id, operator_id)
);
CREATE INDEX queue_memberships_list ON queue_memberships (queue_id, tier, penalty, operator_id);
CREATE INDEX queue_memberships_operator ON queue_memberships (operator_id);

-- Operators and queues whose routing configuration changed in PostgreSQL and is not yet written
-- to Redis. A row is upserted in the transaction of the change and deleted, under its row lock,
-- once the state read after that commit is written; so a change is never lost to a crash or a
-- Redis outage between the commit and the write, and an older state never overwrites a newer
-- one.
CREATE TABLE routing_pending (
  -- 1 queue, 2 operator: queues are written first, as operators refer to them.
  kind smallint NOT NULL CHECK (kind IN (1, 2)),
  id uuid NOT NULL,
  enqueue_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, id)
);
