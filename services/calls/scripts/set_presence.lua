-- Logs an operator in or out or changes their availability (SetPresence), or a supervisor's
-- ForceOperatorState (force = true).
-- ARGV[1]: {op, state (AVAILABLE|NOT_READY|OFFLINE), reason, session, new_session, take_over,
--           force, heartbeat_ms, changed_by, random, request_id, method, fingerprint}
-- Returns: {op, snap}
local earlier = replay()
if earlier then return earlier end
local op_id = A.op
local op = hgetall(op_key(op_id))
if op.team == nil then
  return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'operator ' .. op_id .. ' does not exist')
end
if op.disabled == '1' then
  return fail('FAILED_PRECONDITION', 'OPERATOR_DISABLED', 'operator ' .. op_id .. ' is disabled')
end
local state = op.state or 'OFFLINE'
local target = A.state
local logged_in = state ~= 'OFFLINE'
if A.force then
  if target ~= 'OFFLINE' and not logged_in then
    return fail('FAILED_PRECONDITION', 'OPERATOR_OFFLINE', 'operator ' .. op_id .. ' is OFFLINE')
  end
  if state == 'ON_CALL' and target ~= 'OFFLINE' then
    return fail('FAILED_PRECONDITION', 'OPERATOR_ON_CALL',
                'operator ' .. op_id .. ' is talking: hang up or take the call over')
  end
else
  if not logged_in then
    if target == 'OFFLINE' then
      return finish({op = op_id, snap = op})  -- already logged out
    end
  elseif (op.session or '') ~= (A.session or '') then
    if (A.session or '') ~= '' or not A.take_over then
      if (A.session or '') == '' then
        return fail('FAILED_PRECONDITION', 'SESSION_ACTIVE',
                    'operator ' .. op_id .. ' is logged in elsewhere; take_over to end that session')
      end
      return fail('FAILED_PRECONDITION', 'SESSION_MISMATCH',
                  'session ' .. A.session .. ' is not the live session of operator ' .. op_id)
    end
  end
end

local extra = {}
if not logged_in then
  -- A login: a new session, heartbeats expected from now on.
  extra.session = A.new_session
  extra.misses = 0
  extra.hb = NOW
  set_staffed(op_id, op, true)
  redis.call('ZADD', HEARTBEATS, exact(NOW + num(A.heartbeat_ms, 30000)), op_id)
elseif A.take_over and (A.session or '') == '' then
  extra.session = A.new_session  -- the other desktop's session ends
end
if A.force then extra.misses = 0 end

if state == 'RESERVED' and target ~= 'AVAILABLE' then
  -- The pending offer goes back to its queue without a miss.
  local call_id = op.call
  local call = hgetall(call_key(call_id))
  if call.state == 'RESERVED' and call.accepted ~= '1' then
    cancel_reservation(call_id, call, A.force and 'forced_state' or 'operator_logged_out')
    requeue(call_id, call, op_id)
  end
  extra.call = ''
  extra.res = ''
  state = 'AVAILABLE'
end

if state == 'ON_CALL' or state == 'WRAP_UP' then
  if target == 'AVAILABLE' then
    extra.pending_state = ''
    extra.pending_reason = ''
  elseif A.force and state == 'WRAP_UP' then
    -- A supervisor releases an operator from an unwritten wrap-up.
    local call_id = op.call
    if call_id ~= nil and call_id ~= '' then
      hset(call_key(call_id), {missing_wrap = 1, state = 'COMPLETED'})
      log_call('wrap_up_timed_out', call_id, {op = op_id, forced = true})
      end_call_live(call_id)
    end
    op.pending_state = target
    op.pending_reason = A.reason or ''
    hset(op_key(op_id), extra)
    for f, v in pairs(extra) do op[f] = tostring(v) end
    release_operator(op_id, op)
    return finish({op = op_id, snap = hgetall(op_key(op_id))})
  else
    extra.pending_state = target
    extra.pending_reason = A.reason or ''
    hset(op_key(op_id), extra)
    return finish({op = op_id, snap = hgetall(op_key(op_id))})
  end
  hset(op_key(op_id), extra)
  return finish({op = op_id, snap = hgetall(op_key(op_id))})
end

make_unavailable(op_id, op)
if target == 'OFFLINE' then
  extra.session = ''
  extra.call = ''
  extra.res = ''
  set_staffed(op_id, op, false)
  redis.call('ZREM', HEARTBEATS, op_id)
  set_operator_state(op_id, op, 'OFFLINE', A.reason or '', extra)
elseif target == 'NOT_READY' then
  set_operator_state(op_id, op, 'NOT_READY', A.reason or 'not_ready', extra)
else
  set_operator_state(op_id, op, 'AVAILABLE', '', extra)
  make_available(op_id, op)
  route_operator_queues(op)
end
return finish({op = op_id, snap = hgetall(op_key(op_id))})
