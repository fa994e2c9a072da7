-- The md5 of the deterministic serialization of the request that a request_log answer
-- belongs to: a request_id reused with a different request is refused, not answered with the
-- first request's response.
ALTER TABLE request_log ADD COLUMN request_md5 text NOT NULL DEFAULT '';
