-- Measured with tools/bench/cc-bench-knowledge on 100,000 articles: ranking every match of a
-- frequent word (tens of thousands of rows) took hundreds of milliseconds, most of it reading
-- search vectors out of TOAST.
--
-- 1. Search vectors stay in the row (compressed) and the bodies go out of line instead, so
--    that matching and ranking read the heap only (2.3x faster on that measurement).
ALTER TABLE articles ALTER COLUMN search_vector SET STORAGE MAIN;
ALTER TABLE precedents ALTER COLUMN search_vector SET STORAGE MAIN;

-- 2. Titles and tags alone (weights A and B), for choosing which matches to rank when a query
--    matches more than SearchArticles ranks (services/knowledge/article_store.cc): those
--    whose title or tags match come first.
ALTER TABLE articles ADD COLUMN head_vector tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(title)), 'A') ||
  setweight(to_tsvector(knowledge_text_config(language), knowledge_fold(knowledge_join(tags))), 'B')
) STORED;
CREATE INDEX articles_head ON articles USING gin (head_vector);
