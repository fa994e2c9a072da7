-- The operator writes the mandatory wrap-up: the call is COMPLETED (a transferred leg stays
-- TRANSFERRED) and the operator free again. A late wrap-up, after the limit marked the call
-- missing_wrap_up, is kept as late.
-- ARGV[1]: {op, call, wrap (JSON text: disposition, topic, notes, precedent, new_precedent,
--           callback, author), disposition, random, request_id, method, fingerprint}
-- Returns: {call, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
local wrapping = call.state == 'WRAP_UP' or
                 (call.state == 'TRANSFERRED' and (call.wrap or '') == '') or
                 (call.state == 'COMPLETED' and call.missing_wrap == '1')
if call.op ~= A.op and call.tr_from ~= A.op then
  return fail('FAILED_PRECONDITION', 'NOT_YOUR_CALL',
              'call ' .. A.call .. ' is not handled by operator ' .. A.op)
end
if not wrapping then
  return fail('FAILED_PRECONDITION', 'NOT_IN_WRAP_UP', 'call ' .. A.call .. ' is ' .. call.state ..
              ((call.wrap or '') ~= '' and ' and wrapped up' or ''))
end
-- Campaign calls and call-backs carry their own codes.
local codes = decode(call.codes, nil) or decode(redis.call('HGET', queue_key(call.queue), 'dispos'), {})
local known = false
for _, code in ipairs(codes) do
  if code == A.disposition then known = true end
end
if not known then
  return fail('INVALID_ARGUMENT', 'UNKNOWN_DISPOSITION',
              "disposition: '" .. A.disposition .. "' is not an enabled code of " ..
              ((call.campaign or '') ~= '' and call.campaign
               or ('queues/' .. call.queue)))
end
local late = call.state == 'COMPLETED'
local wrap = decode(A.wrap, {})
wrap.late = late
wrap.at = NOW
local fields = {wrap = cjson.encode(wrap), t_wrap = NOW, missing_wrap = 0}
if call.state == 'WRAP_UP' then fields.state = 'COMPLETED' end
hset(call_key(A.call), fields)
log_call('wrap_up_written', A.call, {op = A.op, late = late})
if call.state == 'WRAP_UP' then log_call('call_completed', A.call) end
end_call_live(A.call)
local op = hgetall(op_key(A.op))
if not late and op.state == 'WRAP_UP' and op.call == A.call then
  -- Handling time (talk, hold and wrap-up) feeds the queue's average for estimated waits.
  local handled = NOW - num(call.t_connect, num(call.t_end, NOW))
  local aht = num(redis.call('HGET', queue_key(call.queue), 'aht_ms'), handled)
  redis.call('HSET', queue_key(call.queue), 'aht_ms', math.floor(0.9 * aht + 0.1 * handled))
  local today = handled_today(op) + 1
  hset(op_key(A.op), {handled = today, handled_day = DAY})
  op.handled = tostring(today)
  op.handled_day = tostring(DAY)
  release_operator(A.op, op)
end
return finish({call = A.call, snap = hgetall(call_key(A.call))})
