-- The surveys service's schema: survey drafts and frozen versions, responses, campaigns and
-- invitations, post-call settings, scorecards and evaluations. Each row keeps its resource as
-- a serialized protobuf message (`data`) next to the columns that queries filter and order on;
-- both are written together by one statement of the store.

CREATE TABLE surveys (
  id text PRIMARY KEY,
  state smallint NOT NULL,
  display_name text NOT NULL,
  latest_version integer NOT NULL DEFAULT 0,
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  data bytea NOT NULL
);
CREATE INDEX surveys_create_time ON surveys (create_time DESC, id);

CREATE TABLE survey_versions (
  survey_id text NOT NULL REFERENCES surveys (id),
  version integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (survey_id, version)
);

-- One respondent's answers to one pinned version. `result_time` is the completion time, or
-- the start time while not completed: the time results filter and group on.
CREATE TABLE responses (
  id text PRIMARY KEY,
  survey_id text NOT NULL REFERENCES surveys (id),
  version integer NOT NULL,
  state smallint NOT NULL,
  channel smallint NOT NULL,
  invitation_id text,
  campaign_id text,
  customer text NOT NULL DEFAULT '',
  call text NOT NULL DEFAULT '',
  queue text NOT NULL DEFAULT '',
  operator text NOT NULL DEFAULT '',
  start_time timestamptz NOT NULL,
  result_time timestamptz NOT NULL,
  expire_time timestamptz NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  data bytea NOT NULL
);
CREATE INDEX responses_survey_time ON responses (survey_id, result_time);
CREATE INDEX responses_survey_id ON responses (survey_id, id DESC);
CREATE INDEX responses_invitation ON responses (invitation_id) WHERE invitation_id IS NOT NULL;

CREATE TABLE campaigns (
  id text PRIMARY KEY,
  state smallint NOT NULL,
  survey_id text NOT NULL REFERENCES surveys (id),
  channel smallint NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL,
  data bytea NOT NULL
);

-- Invitations of campaigns (one per customer and campaign) and after calls (one per call).
CREATE TABLE invitations (
  id text PRIMARY KEY,
  source smallint NOT NULL,
  survey_id text NOT NULL,
  campaign_id text,
  customer text NOT NULL DEFAULT '',
  call text,
  queue text NOT NULL DEFAULT '',
  channel smallint NOT NULL,
  status smallint NOT NULL,
  exclusion_reason smallint NOT NULL DEFAULT 0,
  next_attempt_time timestamptz,
  claimant text NOT NULL DEFAULT '',
  link_token text UNIQUE,
  create_time timestamptz NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  data bytea NOT NULL
);
CREATE UNIQUE INDEX invitations_campaign_customer ON invitations (campaign_id, customer)
  WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX invitations_call ON invitations (call) WHERE call IS NOT NULL;
CREATE INDEX invitations_customer_time ON invitations (customer, create_time);
CREATE INDEX invitations_due ON invitations (channel, next_attempt_time) WHERE status = 1;
CREATE INDEX invitations_list ON invitations (create_time DESC, id DESC);

CREATE TABLE post_call_settings (
  queue_id text PRIMARY KEY,
  enabled boolean NOT NULL,
  survey_id text NOT NULL DEFAULT '',
  revision bigint NOT NULL DEFAULT 1,
  data bytea NOT NULL
);

CREATE TABLE scorecards (
  id text PRIMARY KEY,
  state smallint NOT NULL,
  display_name text NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  data bytea NOT NULL
);

-- Every revision of a scorecard's criteria, so evaluations are recomputed against theirs.
CREATE TABLE scorecard_revisions (
  scorecard_id text NOT NULL REFERENCES scorecards (id) ON DELETE CASCADE,
  revision integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (scorecard_id, revision)
);

CREATE TABLE evaluations (
  id text PRIMARY KEY,
  call text NOT NULL,
  operator text NOT NULL,
  team text NOT NULL DEFAULT '',
  scorecard_id text NOT NULL REFERENCES scorecards (id),
  evaluator text NOT NULL DEFAULT '',
  call_time timestamptz NOT NULL,
  critical_failure boolean NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  data bytea NOT NULL,
  UNIQUE (call, scorecard_id, evaluator)
);
CREATE INDEX evaluations_operator_time ON evaluations (operator, call_time);
CREATE INDEX evaluations_team_time ON evaluations (team, call_time);
