-- The customers service's schema. A card's profile (names, phones, emails, consents, flags...)
-- is kept whole as a serialized contactcentre.customers.v1.Customer in `card`, so that a read
-- is one row; the columns beside it exist for uniqueness, lookups, filters and search.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE customers (
  id uuid PRIMARY KEY,
  -- 1 active, 2 merged (into merged_into), 3 erased
  state smallint NOT NULL,
  -- For a merged card: the final survivor (kept final through chained merges).
  merged_into uuid,
  -- The serialized Customer; NULL for merged and erased cards, which hold no data.
  card bytea,
  -- Lower-cased display name and name parts, 'ё' folded to 'е': the trigram search key.
  search_name text NOT NULL DEFAULT '',
  tags text[] NOT NULL DEFAULT '{}',
  external_id text,
  do_not_call boolean NOT NULL DEFAULT false,
  survey_opt_out boolean NOT NULL DEFAULT false,
  call_recording boolean NOT NULL DEFAULT false,
  -- When a set flag lapses ('infinity' for never); NULL when the flag is not set.
  vip_until timestamptz,
  abusive_until timestamptz,
  -- The etag: raised by every change of the card.
  version bigint NOT NULL DEFAULT 1,
  note_count integer NOT NULL DEFAULT 0,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL
);
CREATE UNIQUE INDEX customers_external_id ON customers (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX customers_update_time ON customers (update_time, id) WHERE state = 1;
CREATE INDEX customers_tags ON customers USING gin (tags) WHERE state = 1;
CREATE INDEX customers_search_name ON customers USING gin (search_name gin_trgm_ops) WHERE state = 1;
CREATE INDEX customers_merged_into ON customers (merged_into) WHERE merged_into IS NOT NULL;

-- One normalised number belongs to at most one card: the primary key is the lookup index.
-- The index tables carry no foreign key: a bulk import writes millions of their rows, and the
-- per-row check triggers cost a tenth of its database time; the store writes and deletes them
-- together with their card.
CREATE TABLE customer_phones (
  e164 text PRIMARY KEY,
  customer_id uuid NOT NULL
);
CREATE INDEX customer_phones_customer ON customer_phones (customer_id);
-- Phone-fragment search over the digits. An expression index, so that the planner can never
-- pick it for the exact lookups by e164 (trigram GIN supports equality, slowly), which must
-- use the primary key.
CREATE INDEX customer_phones_digits ON customer_phones USING gin (substr(e164, 2) gin_trgm_ops);

CREATE TABLE customer_emails (
  -- Lower-cased address.
  address text NOT NULL,
  customer_id uuid NOT NULL
);
CREATE INDEX customer_emails_prefix ON customer_emails (address text_pattern_ops);
CREATE INDEX customer_emails_customer ON customer_emails (customer_id);

-- Histories and notes keep their serialized message; `merged_from` is set when a merge moved
-- the row from another card.
CREATE TABLE consent_changes (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  kind smallint NOT NULL,
  change bytea NOT NULL,
  merged_from uuid
);
CREATE INDEX consent_changes_customer ON consent_changes (customer_id, id DESC);

CREATE TABLE flag_changes (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  kind smallint NOT NULL,
  change bytea NOT NULL,
  merged_from uuid
);
CREATE INDEX flag_changes_customer ON flag_changes (customer_id, id DESC);

CREATE TABLE notes (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  note bytea NOT NULL,
  merged_from uuid
);
CREATE INDEX notes_customer ON notes (customer_id, id DESC);

-- The contact history: one row per call leg, survey response or note (`source` names it:
-- "calls/...", "surveys/.../responses/...", "notes/..."), filled from the event stream.
CREATE TABLE contacts (
  id uuid PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  kind smallint NOT NULL,
  source text NOT NULL UNIQUE,
  occur_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  entry bytea NOT NULL,
  merged_from uuid
);
CREATE INDEX contacts_customer ON contacts (customer_id, occur_time DESC, id DESC);

-- Proof of erasures, without personal data.
CREATE TABLE erasures (
  customer_id uuid PRIMARY KEY,
  record bytea NOT NULL
);

-- Keyed hashes (HMAC-SHA256) of numbers of erased customers who had refused contact.
CREATE TABLE suppressed_numbers (
  number_hash bytea PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Resumption of imports: the highest row committed under each import's request_id.
CREATE TABLE imports (
  request_id text PRIMARY KEY,
  max_row bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
