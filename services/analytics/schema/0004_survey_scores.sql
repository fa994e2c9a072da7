-- Headline CSAT and NPS answers of survey responses (SurveyResponseSubmitted), one row per
-- response: a response submitted again (partial, then complete) replaces its earlier answers
-- when the later submission is newer. Counted by submission time for CSAT and NPS figures.
CREATE TABLE survey_scores (
  site text NOT NULL,
  response text NOT NULL,
  queue text NOT NULL DEFAULT '',
  team text NOT NULL DEFAULT '',
  operator text NOT NULL DEFAULT '',
  submitted_at timestamptz NOT NULL,
  csat_answers integer NOT NULL,
  csat_satisfied integer NOT NULL,
  nps_answers integer NOT NULL,
  nps_promoters integer NOT NULL,
  nps_detractors integer NOT NULL,
  PRIMARY KEY (site, response)
);
CREATE INDEX survey_scores_submitted ON survey_scores (site, submitted_at);
