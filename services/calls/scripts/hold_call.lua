-- Puts a connected call on hold or takes it off hold.
-- ARGV[1]: {call, on_hold, command (true: the desktop asked; a HoldCommand goes to the adapter),
--           request_id, method, fingerprint}
-- Returns: {call, snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
if call.state ~= 'CONNECTED' then
  return fail('FAILED_PRECONDITION', 'NOT_CONNECTED', 'call ' .. A.call .. ' is ' .. call.state)
end
local holding = (call.hold_start or '') ~= ''
if A.on_hold then
  if holding then
    return fail('FAILED_PRECONDITION', 'ALREADY_ON_HOLD', 'call ' .. A.call .. ' is on hold')
  end
  hset(call_key(A.call), {hold_start = NOW})
  log_call('call_held', A.call, {on_hold = true})
else
  if not holding then
    return fail('FAILED_PRECONDITION', 'NOT_ON_HOLD', 'call ' .. A.call .. ' is not on hold')
  end
  local holds = decode(call.holds, {})
  local started = num(call.hold_start, NOW)
  holds[#holds + 1] = {s = started, e = NOW}
  hset(call_key(A.call), {hold_start = '', holds = cjson.encode(holds)})
  log_call('call_held', A.call, {on_hold = false, held_ms = NOW - started})
end
if A.command then send_command(A.call, 'hold', {on_hold = A.on_hold and 1 or 0}) end
return finish({call = A.call, snap = hgetall(call_key(A.call))})
