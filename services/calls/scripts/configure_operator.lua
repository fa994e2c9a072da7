-- Writes an operator's routing configuration (from CallsAdminService), keeping their live
-- presence consistent: an available operator moves between the queues' available sets at
-- once; a disabled or deleted operator who is not busy is logged out.
-- ARGV[1]: {op, team, site, display, endpoint, role, disabled, deleted, queues (JSON text:
--           [{q, tier, penalty, level, ord, paused}]), deesc (JSON text: [queue ids]),
--           supervises (team ids the operator supervises, comma-separated)}
-- Returns: {op, snap}
local op_id = A.op
redis.call('SADD', key('operators'), op_id)
local op = hgetall(op_key(op_id))
local state = op.state or 'OFFLINE'
if state == 'AVAILABLE' then make_unavailable(op_id, op) end
local was_staffed = state ~= 'OFFLINE'
if was_staffed then set_staffed(op_id, op, false) end
for _, q in ipairs(decode(op.deesc, {})) do redis.call('SREM', queue_deesc(q), op_id) end

hset(op_key(op_id), {team = A.team, site = A.site, display = A.display,
                     endpoint = A.endpoint or '', role = A.role or 'OPERATOR',
                     disabled = (A.disabled or A.deleted) and 1 or 0,
                     queues = A.queues, deesc = A.deesc, supervises = A.supervises or ''})
op = hgetall(op_key(op_id))
for _, q in ipairs(decode(op.deesc, {})) do redis.call('SADD', queue_deesc(q), op_id) end
if was_staffed then set_staffed(op_id, op, true) end
if state == 'AVAILABLE' then
  if A.disabled or A.deleted then
    set_staffed(op_id, op, false)
    redis.call('ZREM', HEARTBEATS, op_id)
    set_operator_state(op_id, op, 'OFFLINE', 'operator_disabled', {session = ''})
  else
    make_available(op_id, op)
    route_operator_queues(op)
  end
elseif state == 'NOT_READY' and (A.disabled or A.deleted) then
  set_staffed(op_id, op, false)
  redis.call('ZREM', HEARTBEATS, op_id)
  set_operator_state(op_id, op, 'OFFLINE', 'operator_disabled', {session = ''})
end
if state == 'OFFLINE' and op.state == nil then
  redis.call('HSET', op_key(op_id), 'state', 'OFFLINE', 'since', NOW)
end
return finish({op = op_id, snap = hgetall(op_key(op_id))})
