-- The answers of each response alone (a SurveyResponse holding only `answers`, without their
-- times), next to the whole response in `data`: results read this third of the bytes.
ALTER TABLE responses ADD COLUMN answers bytea;
