-- Operators' desktops are alive: their heartbeat deadlines move on. One run answers every
-- heartbeat a replica gathered in a short window (heartbeats.h), each with its own result.
-- ARGV[1]: {ops: [operator id, ...], sessions: [session id, ...], heartbeat_ms}
-- Returns: {beats: [{op, snap} or {error = "<CODE> <REASON>: <message>"}, ...]} in ARGV's order
local deadline = exact(NOW + num(A.heartbeat_ms, 30000))
local beats = {}
for i, op_id in ipairs(A.ops) do
  local session = A.sessions[i]
  local op = hgetall(op_key(op_id))
  if op.team == nil then
    beats[i] = {error = 'NOT_FOUND OPERATOR_NOT_FOUND: operator ' .. op_id .. ' does not exist'}
  elseif (op.state or 'OFFLINE') == 'OFFLINE' or op.session ~= session then
    beats[i] = {error = 'FAILED_PRECONDITION SESSION_MISMATCH: session ' .. (session or '') ..
                        ' is not live: log in again'}
  else
    redis.call('HSET', op_key(op_id), 'hb', NOW)
    redis.call('ZADD', HEARTBEATS, deadline, op_id)
    op.hb = tostring(NOW)
    beats[i] = {op = op_id, snap = op}
  end
end
return finish({beats = beats})
