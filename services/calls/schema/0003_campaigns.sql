-- Outbound campaigns (services/calls/campaign_store.cc, dialler.cc): campaigns, their contact
-- lists, every dial (campaign attempts, call-backs and manual outbound calls alike, so that the
-- per-number limits count across all of them), do-not-call lists, refusals and call-backs.
-- Each resource keeps its protobuf in `body`; the columns beside it are what queries filter
-- and order on.
CREATE TABLE campaigns (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  display_name text NOT NULL,
  state smallint NOT NULL,
  queue_id text NOT NULL,
  dial_mode smallint NOT NULL,
  purpose smallint NOT NULL,
  body bytea NOT NULL,
  create_time timestamptz NOT NULL,
  etag bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX campaigns_site_name ON campaigns (site, lower(display_name));
CREATE INDEX campaigns_running ON campaigns (site) WHERE state = 2;

CREATE TABLE campaign_entries (
  id uuid PRIMARY KEY,
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  seq bigserial NOT NULL,
  customer_id text NOT NULL DEFAULT '',
  phone text NOT NULL DEFAULT '',
  external_id text NOT NULL DEFAULT '',
  priority smallint NOT NULL DEFAULT 0,
  state smallint NOT NULL,
  attempt_count integer NOT NULL DEFAULT 0,
  last_outcome smallint NOT NULL DEFAULT 0,
  next_attempt_time timestamptz NOT NULL,
  body bytea NOT NULL,
  update_time timestamptz NOT NULL,
  etag bigint NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX campaign_entries_external ON campaign_entries (campaign_id, external_id)
  WHERE external_id <> '';
CREATE UNIQUE INDEX campaign_entries_customer ON campaign_entries (campaign_id, customer_id)
  WHERE customer_id <> '';
CREATE UNIQUE INDEX campaign_entries_phone ON campaign_entries (campaign_id, phone)
  WHERE phone <> '';
-- The dialler's claim: due entries by priority, then creation order.
CREATE INDEX campaign_entries_due ON campaign_entries (campaign_id, priority DESC, seq)
  WHERE state IN (1, 2);
CREATE INDEX campaign_entries_order ON campaign_entries (campaign_id, seq);

-- Every outbound dial. `state`: new (claimed, live call not created yet), ready (waiting for an
-- adapter), sent (an adapter has it), reported (outcome known), cancelled (never dialled).
CREATE TABLE dials (
  call_id uuid PRIMARY KEY,
  site text NOT NULL,
  campaign_id uuid REFERENCES campaigns (id) ON DELETE CASCADE,
  entry_id uuid,
  callback_id uuid,
  attempt_number integer NOT NULL DEFAULT 0,
  phone text NOT NULL,
  operator_id text NOT NULL DEFAULT '',
  state text NOT NULL,
  adapter text NOT NULL DEFAULT '',
  request bytea NOT NULL,
  create_time timestamptz NOT NULL,
  sent_time timestamptz,
  answer_time timestamptz,
  end_time timestamptz,
  outcome smallint NOT NULL DEFAULT 0,
  disposition text NOT NULL DEFAULT '',
  ring_ms integer NOT NULL DEFAULT 0,
  -- Paused or stopped while an adapter had it: a cancellation is due on its stream (and sent).
  cancel_requested boolean NOT NULL DEFAULT false,
  cancel_sent boolean NOT NULL DEFAULT false,
  -- The answered call's end was applied to the entry or call-back.
  resolved boolean NOT NULL DEFAULT false
);
CREATE INDEX dials_phone ON dials (phone, create_time);
CREATE INDEX dials_entry ON dials (entry_id, attempt_number);
CREATE INDEX dials_campaign_time ON dials (campaign_id, create_time);
CREATE INDEX dials_open ON dials (site, state, create_time) WHERE state IN ('new', 'ready', 'sent');
CREATE INDEX dials_unresolved ON dials (site) WHERE NOT resolved AND state = 'reported';

CREATE TABLE campaign_do_not_call (
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  phone text NOT NULL,
  body bytea NOT NULL,
  add_time timestamptz NOT NULL,
  PRIMARY KEY (campaign_id, phone)
);

CREATE TABLE campaign_refusals (
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  entry_id uuid NOT NULL,
  reason smallint NOT NULL,
  refuse_time timestamptz NOT NULL
);
CREATE INDEX campaign_refusals_campaign ON campaign_refusals (campaign_id, refuse_time);

CREATE TABLE callbacks (
  id uuid PRIMARY KEY,
  site text NOT NULL,
  queue_id text NOT NULL,
  operator_id text NOT NULL DEFAULT '',
  customer text NOT NULL DEFAULT '',
  state smallint NOT NULL,
  due_time timestamptz NOT NULL,
  -- When it may next be dialled (due_time, then after each failed dial).
  next_time timestamptz NOT NULL,
  body bytea NOT NULL,
  update_time timestamptz NOT NULL,
  etag bigint NOT NULL DEFAULT 1
);
CREATE INDEX callbacks_due ON callbacks (site, next_time) WHERE state = 1;
CREATE INDEX callbacks_list ON callbacks (due_time, id);
