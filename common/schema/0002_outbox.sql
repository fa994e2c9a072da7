-- Transactional outbox (common/outbox.h): events written in the same transaction as the change
-- they describe, moved to the Redis stream by a relay after commit, so that no event is lost
-- when a process dies between its commit and its publish.
CREATE TABLE outbox (
  seq bigserial PRIMARY KEY,
  type text NOT NULL,
  event bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
