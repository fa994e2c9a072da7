-- An operator's desktop is alive: the heartbeat deadline moves on.
-- ARGV[1]: {op, session, heartbeat_ms}
-- Returns: {op, snap}
local op = hgetall(op_key(A.op))
if op.team == nil then
  return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'operator ' .. A.op .. ' does not exist')
end
if (op.state or 'OFFLINE') == 'OFFLINE' or op.session ~= A.session then
  return fail('FAILED_PRECONDITION', 'SESSION_MISMATCH',
              'session ' .. (A.session or '') .. ' is not live: log in again')
end
redis.call('HSET', op_key(A.op), 'hb', NOW)
redis.call('ZADD', HEARTBEATS, exact(NOW + num(A.heartbeat_ms, 30000)), A.op)
op.hb = tostring(NOW)
return finish({op = A.op, snap = op})
