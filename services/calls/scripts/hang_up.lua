-- Ends a call in any live state (HangUp). Waiting or offered: ABANDONED (or FAILED); connected:
-- the call and its operator go to WRAP_UP (a warm transfer in progress ends with it: its new
-- leg FAILED); already ended: unchanged. The new leg of a warm transfer not completed yet
-- (offered to its target, or consulting) ends FAILED "consult_hung_up" and the caller stays on
-- hold with the transferring operator.
-- ARGV[1]: {call, end_reason (CUSTOMER_HUNG_UP|OPERATOR_HUNG_UP|FAILED), failure_reason,
--           dial_outcome, short_ms, command (true: not applied by telephony; a HangUpCommand
--           goes to the adapter), random, request_id, method, fingerprint}
-- Returns: {call, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
local state = call.state
if state == 'WRAP_UP' or state == 'COMPLETED' or state == 'ABANDONED' or
    state == 'TRANSFERRED' or state == 'FAILED' then
  return finish({call = A.call, snap = call})
end
local waiting = state == 'OFFERED' or state == 'QUEUED' or state == 'RESERVED'
if waiting and warm_origin(A.call, call) then
  local consulting = fail_waiting_call(A.call, 'consult_hung_up')
  hset(call_key(call.prev), {next = ''})
  log_call('transfer_ended', call.prev)
  if A.command and consulting then
    send_command(A.call, 'hang_up', {reason = A.end_reason, consult_only = 1})
  end
  return finish({call = A.call, snap = hgetall(call_key(A.call))})
end
if waiting and A.end_reason == 'OPERATOR_HUNG_UP' and call.dir ~= 'OUTBOUND' then
  return fail('FAILED_PRECONDITION', 'NOT_CONNECTED',
              'call ' .. A.call .. ' is not connected yet')
end
if waiting then
  if state == 'RESERVED' then
    local op = hgetall(op_key(call.op))
    if call.accepted ~= '1' then cancel_reservation(A.call, call, 'caller_hung_up') end
    release_operator(call.op, op)
  else
    dequeue(call.queue, A.call)
  end
  local final = A.end_reason == 'FAILED' and 'FAILED' or 'ABANDONED'
  if call.dir == 'OUTBOUND' and A.end_reason ~= 'CUSTOMER_HUNG_UP' then final = 'FAILED' end
  local waited = NOW - num(call.t_queue, NOW)
  hset(call_key(A.call), {state = final, t_end = NOW, end_reason = A.end_reason,
                          abandoned_in = state, fail_reason = A.failure_reason or '',
                          dial_outcome = A.dial_outcome or '', op = '', res = '',
                          short = waited < num(A.short_ms, 5000) and 1 or 0})
  if final == 'ABANDONED' then
    redis.call('HINCRBY', queue_key(call.queue), 'abandoned:' .. DAY, 1)
    log_call('call_abandoned', A.call, {waited = waited})
  else
    log_call('call_failed', A.call)
  end
  untrack_adapter_call(A.call, call)
  end_call_live(A.call)
  if A.command then send_command(A.call, 'hang_up', {reason = A.end_reason}) end
  return finish({call = A.call, snap = hgetall(call_key(A.call))})
end
-- CONNECTED: the conversation ends; the mandatory wrap-up begins.
local wrap_ms = num(redis.call('HGET', queue_key(call.queue), 'wrap_ms'), 120000)
local fields = {state = 'WRAP_UP', t_end = NOW, end_reason = A.end_reason, t_wrapdl = NOW + wrap_ms}
if (call.hold_start or '') ~= '' then
  local holds = decode(call.holds, {})
  holds[#holds + 1] = {s = num(call.hold_start, NOW), e = NOW}
  fields.holds = cjson.encode(holds)
  fields.hold_start = ''
end
if (call.next or '') ~= '' then
  -- A warm transfer in progress ends with the call; when its consult bridge was ordered, the
  -- two operators are still bridged on the media path whoever hung up: that leg goes too.
  local consulting = fail_waiting_call(call.next, string.lower(A.end_reason))
  if consulting then
    send_command(call.next, 'hang_up', {reason = A.end_reason, consult_only = 1})
  end
  fields.next = ''
end
hset(call_key(A.call), fields)
local op = hgetall(op_key(call.op))
redis.call('ZADD', WRAPUPS, exact(NOW + wrap_ms), call.op)
set_operator_state(call.op, op, 'WRAP_UP', '', {wrap_dl = NOW + wrap_ms})
log_call('call_ended', A.call)
if A.command then send_command(A.call, 'hang_up', {reason = A.end_reason}) end
return finish({call = A.call, snap = hgetall(call_key(A.call))})
