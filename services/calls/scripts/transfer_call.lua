-- A transfer of a connected call to a queue or an operator. A new leg of the same chain is
-- queued in the target queue, or offered to the target operator at once.
--   COLD: the old leg ends TRANSFERRED now (its operator writes its wrap-up).
--   WARM: the caller is put on hold (a HoldCommand to the adapter) and the old leg stays
--         CONNECTED with `next` naming the new leg (`warm` set) until CompleteTransfer or
--         CancelTransfer (warm_transfer.lua); the target's accept orders a consult bridge.
-- ARGV[1]: {op, call, new_call, mode (COLD|WARM), to_queue, to_operator, notes, priority (-1:
--           the call's), random, request_id, method, fingerprint}
-- Returns: {call, snap, new_call, new_snap}
local replayed, call = replay_or_load_call()
if replayed then return replayed end
if call.state ~= 'CONNECTED' then
  return fail('FAILED_PRECONDITION', 'NOT_CONNECTED', 'call ' .. A.call .. ' is ' .. call.state)
end
if call.op ~= A.op then
  return fail('FAILED_PRECONDITION', 'NOT_YOUR_CALL',
              'call ' .. A.call .. ' is not handled by operator ' .. A.op)
end
if (call.next or '') ~= '' then
  return fail('FAILED_PRECONDITION', 'TRANSFER_PENDING',
              'a warm transfer of call ' .. A.call .. ' to calls/' .. call.next ..
              ' is in progress: complete or cancel it first')
end
local target_queue = A.to_queue ~= '' and A.to_queue or call.queue
local qc = hgetall(queue_key(target_queue))
if qc.strategy == nil then
  return fail('NOT_FOUND', 'QUEUE_NOT_FOUND', 'queue ' .. target_queue .. ' does not exist')
end
if qc.deleted == '1' then
  return fail('FAILED_PRECONDITION', 'QUEUE_DELETED', 'queue ' .. target_queue .. ' is deleted')
end
local target_op
if A.to_operator ~= '' then
  target_op = hgetall(op_key(A.to_operator))
  if target_op.team == nil then
    return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'operator ' .. A.to_operator .. ' does not exist')
  end
  if target_op.state ~= 'AVAILABLE' then
    return fail('FAILED_PRECONDITION', 'OPERATOR_NOT_AVAILABLE',
                'operator ' .. A.to_operator .. ' is ' .. (target_op.state or 'OFFLINE'))
  end
end
local warm = A.mode == 'WARM'
local transfer = cjson.encode({from = A.op, to_queue = A.to_queue, to_op = A.to_operator,
                               notes = A.notes or '', mode = warm and 'WARM' or 'COLD'})
-- The old leg.
if warm then
  hset(call_key(A.call), {next = A.new_call})
  if (call.hold_start or '') == '' then
    hset(call_key(A.call), {hold_start = NOW})
    log_call('call_held', A.call, {on_hold = true})
    send_command(A.call, 'hold', {on_hold = 1})
  else
    log_call('transfer_started', A.call)
  end
else
  local old_fields = {state = 'TRANSFERRED', t_end = NOW, next = A.new_call, tr_from = A.op,
                      transfer = transfer}
  if (call.hold_start or '') ~= '' then
    local holds = decode(call.holds, {})
    holds[#holds + 1] = {s = num(call.hold_start, NOW), e = NOW}
    old_fields.holds = cjson.encode(holds)
    old_fields.hold_start = ''
  end
  hset(call_key(A.call), old_fields)
  local wrap_ms = num(redis.call('HGET', queue_key(call.queue), 'wrap_ms'), 120000)
  local op = hgetall(op_key(A.op))
  redis.call('ZADD', WRAPUPS, exact(NOW + wrap_ms), A.op)
  set_operator_state(A.op, op, 'WRAP_UP', '', {wrap_dl = NOW + wrap_ms})
  log_call('call_transferred', A.call, {new_call = A.new_call, to_queue = A.to_queue,
                                        to_op = A.to_operator})
end
-- The new leg, at the back of the target queue with the call's priority (or the one asked).
local priority = num(call.prio, 0)
if num(A.priority, -1) >= 0 then priority = A.priority end
local score = exact(call_score(priority))
hset(call_key(A.new_call), {
  state = 'QUEUED', dir = call.dir, site = call.site, queue = target_queue,
  orig_queue = target_queue, prio = priority, rprio = call.rprio, vip = call.vip,
  abusive = call.abusive, customer = call.customer, lookup = call.lookup, cnum = call.cnum,
  dnum = call.dnum, attrs = call.attrs, adapter = call.adapter, tel_id = call.tel_id,
  campaign = call.campaign, chain_root = call.chain_root, prev = A.call, t_offer = NOW,
  t_queue = NOW, score = score, attempt = 0, ver = 1, transfer = transfer,
  warm = warm and 1 or 0})
-- The adapter's call id names the new leg once the caller is on it (at once for a cold
-- transfer, on CompleteTransfer for a warm one).
if not warm and (call.adapter or '') ~= '' and (call.tel_id or '') ~= '' then
  redis.call('SET', key('tel', call.adapter, call.tel_id), A.new_call, 'EX', LIVE_TTL)
end
track_adapter_call(A.new_call, call.adapter)
log_call('call_offered', A.new_call)
if target_op then
  local new_call = hgetall(call_key(A.new_call))
  hset(call_key(A.new_call), {t_queue = NOW})
  reserve(target_queue, A.new_call, new_call, A.to_operator)
else
  enqueue(target_queue, A.new_call, score)
  log_call('call_queued', A.new_call, {position = position_of(target_queue, A.new_call)})
  route_queue(target_queue, 4)
end
return finish({call = A.call, snap = hgetall(call_key(A.call)), new_call = A.new_call,
               new_snap = hgetall(call_key(A.new_call))})
