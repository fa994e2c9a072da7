-- Ends a warm transfer (transfer_call.lua, mode WARM) one way or the other.
--   complete: the target operator is consulting (their consult BridgeCommand acknowledged): the
--             caller is bridged to them (a BridgeCommand with consult false on the new leg,
--             which telephony's ConnectCall then connects), the old leg ends TRANSFERRED and
--             its operator goes to WRAP_UP.
--   cancel:   the new leg ends FAILED "transfer_cancelled" (its operator, if any, free again; a
--             consult already ordered is hung up with a consult_only HangUpCommand) and the
--             caller is taken off hold (a HoldCommand with on_hold false).
-- ARGV[1]: {action (complete|cancel), call (the old leg), op (empty: the old leg's operator),
--           random, nonce, request_id, method, fingerprint}
-- Returns: {call, snap, new_call, new_snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
if (A.op or '') == '' then A.op = call.op or '' end
if call.state ~= 'CONNECTED' or (call.next or '') == '' then
  return fail('FAILED_PRECONDITION', 'NO_TRANSFER_PENDING',
              'call ' .. A.call .. ' has no warm transfer in progress (it is ' .. call.state .. ')')
end
if call.op ~= A.op then
  return fail('FAILED_PRECONDITION', 'NOT_YOUR_CALL',
              'call ' .. A.call .. ' is not handled by operator ' .. A.op)
end
local new_id = call.next
local leg = hgetall(call_key(new_id))

-- The caller's current hold ends now (on either outcome).
local function end_hold(fields)
  if (call.hold_start or '') ~= '' then
    local holds = decode(call.holds, {})
    holds[#holds + 1] = {s = num(call.hold_start, NOW), e = NOW}
    fields.holds = cjson.encode(holds)
    fields.hold_start = ''
    return NOW - num(call.hold_start, NOW)
  end
  return nil
end

if A.action == 'complete' then
  if leg.state ~= 'RESERVED' or leg.accepted ~= '1' or leg.consult_up ~= '1' then
    return fail('FAILED_PRECONDITION', 'TARGET_NOT_CONNECTED',
                'the target of the transfer (calls/' .. new_id .. ', ' .. (leg.state or 'gone') ..
                ') is not connected to operator ' .. A.op .. ' yet')
  end
  local fields = {state = 'TRANSFERRED', t_end = NOW, tr_from = A.op,
                  transfer = leg.transfer or ''}
  end_hold(fields)
  hset(call_key(A.call), fields)
  local wrap_ms = num(redis.call('HGET', queue_key(call.queue), 'wrap_ms'), 120000)
  local op = hgetall(op_key(A.op))
  redis.call('ZADD', WRAPUPS, exact(NOW + wrap_ms), A.op)
  set_operator_state(A.op, op, 'WRAP_UP', '', {wrap_dl = NOW + wrap_ms})
  local transfer = decode(leg.transfer, {})
  log_call('call_transferred', A.call, {new_call = new_id, to_queue = transfer.to_queue or '',
                                        to_op = transfer.to_op or ''})
  -- The new leg is no longer a consult (its old leg is not CONNECTED): ConnectCall connects it
  -- once the caller is bridged.
  if (call.adapter or '') ~= '' and (call.tel_id or '') ~= '' then
    redis.call('SET', key('tel', call.adapter, call.tel_id), new_id, 'EX', LIVE_TTL)
  end
  log_call('transfer_completed', new_id)
  send_bridge(new_id, leg.op, false)
else
  local consulting = fail_waiting_call(new_id, 'transfer_cancelled')
  if consulting then
    send_command(new_id, 'hang_up', {reason = 'OPERATOR_HUNG_UP', consult_only = 1})
  end
  local fields = {next = ''}
  local held_ms = end_hold(fields)
  hset(call_key(A.call), fields)
  if held_ms then
    log_call('call_held', A.call, {on_hold = false, held_ms = held_ms})
    send_command(A.call, 'hold', {on_hold = 0})
  else
    log_call('transfer_ended', A.call)
  end
end
return finish({call = A.call, snap = hgetall(call_key(A.call)), new_call = new_id,
               new_snap = hgetall(call_key(new_id))})
