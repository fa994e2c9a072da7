-- Writes a queue's routing configuration (from CallsAdminService). A change of strategy
-- re-scores the operators available in it; a deleted queue takes no calls any more.
-- ARGV[1]: {queue, fields: {strategy, ring_ms, wrap_ms, max_miss, sl_ms, short_ms, deesc,
--           vip_boost, def_prio, tier_wait_ms, tiers (JSON text), dispos (JSON text), deleted,
--           display, site}}
-- Returns: {queue}
local q = A.queue
redis.call('SADD', key('queues'), q)
local previous_strategy = redis.call('HGET', queue_key(q), 'strategy')
hset(queue_key(q), A.fields)
if previous_strategy and previous_strategy ~= tostring(A.fields.strategy) then
  for _, tier in ipairs(decode(A.fields.tiers, {1})) do
    local zset = queue_ops(q, tier)
    for _, op_id in ipairs(redis.call('ZRANGE', zset, 0, -1)) do
      local op = hgetall(op_key(op_id))
      for _, m in ipairs(memberships(op)) do
        if m.q == q then redis.call('ZADD', zset, exact(operator_score(q, m, op)), op_id) end
      end
    end
  end
end
if A.fields.deleted == 1 then
  for _, tier in ipairs(decode(A.fields.tiers, {1})) do redis.call('DEL', queue_ops(q, tier)) end
end
route_queue(q, 8)
return finish({queue = q})
