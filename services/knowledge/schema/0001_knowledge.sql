-- The knowledge service's schema: articles with their versions, precedents, the organisations
-- directory, feedback, and the progress of bulk imports.
--
-- Search columns are generated from the stored text, so they can never disagree with it:
-- `search_vector` is the weighted tsvector of full-text search in the configuration of the
-- row's language, `*_key` columns are the lower-cased, "ё"-folded texts that pg_trgm compares
-- for typo tolerance. Both have GIN indexes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The text-search configuration of a Language value (1 RU, 2 EN).
CREATE FUNCTION knowledge_text_config(language smallint) RETURNS regconfig
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE language WHEN 2 THEN 'english'::regconfig ELSE 'russian'::regconfig END;

-- array_to_string is only STABLE (it formats any element type), which a generated column
-- refuses; for text[] it is immutable.
CREATE FUNCTION knowledge_join(words text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_to_string(words, ' ');

-- Searches treat "ё" as "е" (the contract); the Russian stemmer does too, the trigram keys
-- and the English configuration do not.
CREATE FUNCTION knowledge_fold(value text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN translate(value, 'ёЁ', 'еЕ');

CREATE TABLE articles (
  id uuid PRIMARY KEY,
  -- ArticleState: 1 draft, 2 published, 3 archived.
  state smallint NOT NULL,
  -- Language: 1 ru, 2 en; chooses the text-search configuration.
  language smallint NOT NULL,
  title text NOT NULL,
  summary text NOT NULL,
  -- Markdown as written, and as plain text (searched and quoted in snippets).
  body text NOT NULL,
  body_plain text NOT NULL,
  product text NOT NULL,
  -- The product lower-cased with "ё" folded: what filters compare.
  product_key text NOT NULL,
  category text NOT NULL,
  category_key text NOT NULL,
  -- Lower-cased, unique.
  tags text[] NOT NULL,
  external_id text,
  author_name text NOT NULL,
  author_display_name text NOT NULL,
  editor_name text NOT NULL,
  editor_display_name text NOT NULL,
  -- The current version number.
  version integer NOT NULL,
  -- The etag: raised by every change of content or state.
  revision bigint NOT NULL,
  -- Distinct people whose latest feedback is (not) helpful.
  helpful_count integer NOT NULL DEFAULT 0,
  not_helpful_count integer NOT NULL DEFAULT 0,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  publish_time timestamptz,
  -- Title over tags over summary and body over product and category.
  search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(title)), 'A') ||
    setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(knowledge_join(tags))), 'B') ||
    setweight(to_tsvector(knowledge_text_config(language),
                          knowledge_fold(summary || E'\n' || body_plain)), 'C') ||
    setweight(to_tsvector(knowledge_text_config(language),
                          knowledge_fold(product || ' ' || replace(category, '/', ' '))), 'D')
  ) STORED,
  -- What the typo fallback compares: titles and tags.
  fuzzy_key text GENERATED ALWAYS AS (
    lower(knowledge_fold(title || ' ' || knowledge_join(tags)))
  ) STORED
);
CREATE UNIQUE INDEX articles_external_id ON articles (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX articles_search ON articles USING gin (search_vector);
CREATE INDEX articles_fuzzy ON articles USING gin (fuzzy_key gin_trgm_ops);
CREATE INDEX articles_update_time ON articles (update_time DESC, id DESC);

-- Every version of an article's content, immutable once made; the current one is repeated in
-- `articles` (what search and reads use).
CREATE TABLE article_versions (
  article_id uuid NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
  version integer NOT NULL,
  title text NOT NULL,
  summary text NOT NULL,
  body text NOT NULL,
  product text NOT NULL,
  category text NOT NULL,
  tags text[] NOT NULL,
  language smallint NOT NULL,
  editor_name text NOT NULL,
  editor_display_name text NOT NULL,
  change_note text NOT NULL,
  create_time timestamptz NOT NULL,
  PRIMARY KEY (article_id, version)
);

CREATE TABLE precedents (
  id uuid PRIMARY KEY,
  problem text NOT NULL,
  solution text NOT NULL,
  product text NOT NULL,
  product_key text NOT NULL,
  tags text[] NOT NULL,
  -- PrecedentOutcome: 0 unspecified, 1 resolved, 2 workaround, 3 escalated, 4 not resolved.
  outcome smallint NOT NULL,
  call text NOT NULL,
  operator text NOT NULL,
  language smallint NOT NULL,
  related_articles text[] NOT NULL,
  author_name text NOT NULL,
  author_display_name text NOT NULL,
  -- PrecedentSource: 1 API, 2 wrap-up event; the event id for the latter.
  source smallint NOT NULL,
  source_event text NOT NULL,
  helpful_count integer NOT NULL DEFAULT 0,
  not_helpful_count integer NOT NULL DEFAULT 0,
  revision bigint NOT NULL,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL,
  -- Problem over tags over solution over product.
  search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(problem)), 'A') ||
    setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(knowledge_join(tags))), 'B') ||
    setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(solution)), 'C') ||
    setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(product)), 'D')
  ) STORED,
  problem_key text GENERATED ALWAYS AS (lower(knowledge_fold(problem))) STORED
);
CREATE INDEX precedents_search ON precedents USING gin (search_vector);
CREATE INDEX precedents_problem_key ON precedents USING gin (problem_key gin_trgm_ops);
CREATE INDEX precedents_operator ON precedents (operator, id) WHERE operator <> '';
CREATE INDEX precedents_call ON precedents (call, id) WHERE call <> '';

-- Wrap-up events that created a precedent. Kept when the precedent is deleted (and longer than
-- processed_events, which is pruned after a week), so that a replayed event never brings a
-- deleted precedent back.
CREATE TABLE precedent_events (
  event_id text PRIMARY KEY,
  precedent_id uuid NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE directory_entries (
  id uuid PRIMARY KEY,
  -- The serialized DirectoryEntry without its output-only fields (name, etag, times).
  entry bytea NOT NULL,
  display_name text NOT NULL,
  category smallint NOT NULL,
  -- Folded display name and city: the import's match when an item has no external_id.
  display_key text NOT NULL,
  city_key text NOT NULL,
  -- Name keys (services/knowledge/text.h DirectoryNameKey) of the display and alternative
  -- names, one a line: what SearchDirectory matches words against.
  name_keys text NOT NULL,
  -- Digits of every phone, space-separated: what a phone-fragment query matches.
  phone_digits text NOT NULL,
  external_id text,
  revision bigint NOT NULL,
  create_time timestamptz NOT NULL,
  update_time timestamptz NOT NULL
);
CREATE UNIQUE INDEX directory_entries_external_id ON directory_entries (external_id)
  WHERE external_id IS NOT NULL;
CREATE INDEX directory_entries_names ON directory_entries USING gin (name_keys gin_trgm_ops);
CREATE INDEX directory_entries_phones ON directory_entries USING gin (phone_digits gin_trgm_ops);
CREATE INDEX directory_entries_order ON directory_entries (display_name, id);
CREATE INDEX directory_entries_match ON directory_entries (display_key, city_key);
CREATE INDEX directory_entries_city ON directory_entries (city_key, category);

-- Feedback on exactly one article or precedent; deleted with it.
CREATE TABLE feedback (
  id uuid PRIMARY KEY,
  article_id uuid REFERENCES articles (id) ON DELETE CASCADE,
  precedent_id uuid REFERENCES precedents (id) ON DELETE CASCADE,
  -- FeedbackRating: 1 helpful, 2 not helpful.
  rating smallint NOT NULL,
  comment text NOT NULL,
  author_name text NOT NULL,
  author_display_name text NOT NULL,
  call text NOT NULL,
  query text NOT NULL,
  article_version integer NOT NULL,
  create_time timestamptz NOT NULL,
  CHECK ((article_id IS NULL) <> (precedent_id IS NULL))
);
-- Newest first per target, and each person's latest rating of a target.
CREATE INDEX feedback_article ON feedback (article_id, id) WHERE article_id IS NOT NULL;
CREATE INDEX feedback_precedent ON feedback (precedent_id, id) WHERE precedent_id IS NOT NULL;
CREATE INDEX feedback_article_author ON feedback (article_id, author_name, id)
  WHERE article_id IS NOT NULL AND author_name <> '';
CREATE INDEX feedback_precedent_author ON feedback (precedent_id, author_name, id)
  WHERE precedent_id IS NOT NULL AND author_name <> '';
CREATE INDEX feedback_articles_all ON feedback (id) WHERE article_id IS NOT NULL;
CREATE INDEX feedback_precedents_all ON feedback (id) WHERE precedent_id IS NOT NULL;

-- The highest item number committed per import stream (method and request_id), so that a
-- resumed import answers ALREADY_IMPORTED for what an earlier stream committed. Kept 7 days.
CREATE TABLE import_progress (
  method text NOT NULL,
  request_id text NOT NULL,
  last_item_number bigint NOT NULL,
  update_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (method, request_id)
);
CREATE INDEX import_progress_update_time ON import_progress (update_time);
