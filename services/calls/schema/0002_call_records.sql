-- Call records and help requests, written by the change relay from the live side's change log
-- (services/calls/relay.cc), in batches, each row at most once per change: `version` is the
-- change's position in the log, and a row is only replaced by a later one.
CREATE TABLE call_records (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  direction smallint NOT NULL,
  state smallint NOT NULL,
  queue_id text NOT NULL DEFAULT '',
  operator_id text NOT NULL DEFAULT '',
  team_id text NOT NULL DEFAULT '',
  customer text NOT NULL DEFAULT '',
  customer_number text NOT NULL DEFAULT '',
  disposition text NOT NULL DEFAULT '',
  campaign text NOT NULL DEFAULT '',
  chain_root text NOT NULL DEFAULT '',
  missing_wrap_up boolean NOT NULL DEFAULT false,
  offer_time timestamptz NOT NULL,
  end_time timestamptz,
  -- The serialized contactcentre.calls.v1.Call.
  record bytea NOT NULL,
  version bigint NOT NULL,
  update_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_records_offer_time ON call_records (offer_time DESC, id DESC);
CREATE INDEX call_records_queue ON call_records (queue_id, offer_time DESC);
CREATE INDEX call_records_operator ON call_records (operator_id, offer_time DESC);
CREATE INDEX call_records_customer ON call_records (customer, offer_time DESC) WHERE customer <> '';
CREATE INDEX call_records_chain ON call_records (chain_root);

CREATE TABLE help_requests (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  operator_id text NOT NULL,
  team_id text NOT NULL DEFAULT '',
  state smallint NOT NULL,
  create_time timestamptz NOT NULL,
  -- The serialized contactcentre.calls.v1.HelpRequest.
  record bytea NOT NULL,
  version bigint NOT NULL
);
CREATE INDEX help_requests_create_time ON help_requests (create_time DESC, id DESC);
