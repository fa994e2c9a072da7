-- The telephony adapter's side of the command stream (WatchTelephonyCommands) and its
-- acknowledgements (AcknowledgeTelephonyCommand).
--   open:  `stream` becomes the adapter's one stream with the next generation number (a replica
--          serving a stream of the adapter with a lower generation ends it ABORTED when it sees
--          the change "tel_stream"; a change of an older open, seen late, ends nothing); the
--          adapter counts as alive until `timeout_ms` from now; answers the generation and every
--          command not acknowledged yet, oldest first, to be re-sent. A bridge whose call no
--          longer waits for it (the call ended or went to another operator while the adapter
--          was away, e.g. presumed dead) is not re-sent: it is marked SUPERSEDED.
--   alive: while `stream` is still the adapter's stream, moves that deadline on (the serving
--          replica calls it a few times per timeout); answers {current = false} otherwise.
--          Forgets a few of the adapter's calls that no longer wait.
--   close: the stream ended; the adapter has `timeout_ms` to open another before it is presumed
--          dead (sweep.lua: its waiting and reserved calls end FAILED).
--   ack:   the command was carried out (success) or failed. A failed bridge of a call still
--          waiting for it puts the call back at its place in its queue and the operator NOT_READY
--          "bridge_failed"; a consult bridge carried out marks the warm transfer's target as
--          connected (CompleteTransfer needs it). Other failures change no state: the service
--          cannot undo what telephony did not do; they are kept on the command.
-- ARGV[1]: {action (open|alive|close|ack), adapter, stream, timeout_ms, command, success,
--           failure_reason, random, nonce, request_id, method, fingerprint}
-- Returns: open {generation, commands = [{id, body}]}; alive {current}; close {}; ack {state}
local stream_key = adapter_key(A.adapter, 'stream')
local timeout_ms = num(A.timeout_ms, 60000)

if A.action == 'open' then
  local generation = redis.call('INCR', adapter_key(A.adapter, 'generation'))
  redis.call('EXPIRE', adapter_key(A.adapter, 'generation'), COMMAND_TTL)
  redis.call('SET', stream_key, A.stream, 'EX', LIVE_TTL)
  redis.call('ZADD', ADAPTERS, exact(NOW + timeout_ms), A.adapter)
  log_change('tel_stream', {adapter = A.adapter, stream = A.stream, generation = generation})
  local pending = adapter_key(A.adapter, 'cmds')
  redis.call('ZREMRANGEBYSCORE', pending, '-inf', exact(NOW_US - COMMAND_TTL * 1000000))
  local commands = {}
  for _, id in ipairs(redis.call('ZRANGE', pending, 0, -1)) do
    local body = hgetall(key('cmd', id))
    local stale = false
    if body.state == 'PENDING' and body.kind == 'bridge' then
      local call = hgetall(call_key(body.call))
      stale = not (call.state == 'RESERVED' and call.accepted == '1' and call.op == body.op)
      if stale then hset(key('cmd', id), {state = 'SUPERSEDED', t_ack = NOW}) end
    end
    if body.state == 'PENDING' and not stale then
      commands[#commands + 1] = {id = id, body = body}
    else
      redis.call('ZREM', pending, id)
    end
  end
  return finish({generation = generation, commands = commands})
end

if A.action == 'alive' then
  if redis.call('GET', stream_key) ~= A.stream then return finish({current = false}) end
  redis.call('EXPIRE', stream_key, LIVE_TTL)
  redis.call('ZADD', ADAPTERS, exact(NOW + timeout_ms), A.adapter)
  local calls = adapter_key(A.adapter, 'calls')
  for _, id in ipairs(redis.call('SRANDMEMBER', calls, 20)) do
    local state = redis.call('HGET', call_key(id), 'state')
    if state ~= 'QUEUED' and state ~= 'RESERVED' and state ~= 'OFFERED' then
      redis.call('SREM', calls, id)
    end
  end
  return finish({current = true})
end

if A.action == 'close' then
  if redis.call('GET', stream_key) == A.stream then
    redis.call('DEL', stream_key)
    redis.call('ZADD', ADAPTERS, exact(NOW + timeout_ms), A.adapter)
  end
  return finish({closed = true})
end

-- ack
local earlier = replay()
if earlier then return earlier end
local command_key = key('cmd', A.command)
local command = hgetall(command_key)
if command.kind == nil then
  return fail('NOT_FOUND', 'COMMAND_NOT_FOUND', 'command ' .. A.command ..
              ' does not exist (or was issued more than 24 hours ago)')
end
if command.adapter ~= A.adapter then
  return fail('FAILED_PRECONDITION', 'WRONG_ADAPTER', 'command ' .. A.command ..
              ' belongs to telephony adapter ' .. command.adapter)
end
if command.state ~= 'PENDING' then
  -- Acknowledged before (the adapter repeats itself): the first acknowledgement stands.
  return finish({state = command.state})
end
local state = A.success and 'DONE' or 'FAILED'
redis.call('ZREM', adapter_key(A.adapter, 'cmds'), A.command)
hset(command_key, {state = state, fail_reason = A.failure_reason or '', t_ack = NOW})
local call_id = command.call
local call = hgetall(call_key(call_id))
local bridging = command.kind == 'bridge' and call.state == 'RESERVED' and
                 call.accepted == '1' and call.op == command.op
if bridging and A.success and command.consult == '1' then
  if warm_origin(call_id, call) then
    hset(call_key(call_id), {consult_up = 1})
    log_call('consult_connected', call_id, {op = command.op})
  end
elseif bridging and not A.success then
  local op = hgetall(op_key(command.op))
  local reason = 'bridge_failed'
  if (A.failure_reason or '') ~= '' then reason = reason .. ': ' .. A.failure_reason end
  log_call('bridge_failed', call_id, {op = command.op, reason = A.failure_reason or ''})
  hset(call_key(call_id), {t_accept = '', consult_up = ''})
  requeue(call_id, call, command.op, 'CANCELLED', reason)
  if op.call == call_id then
    set_operator_state(command.op, op, 'NOT_READY', 'bridge_failed', {call = '', res = ''})
  end
  route_queue(call.queue, 4)
end
return finish({state = state})
