-- An outbound call placed for an operator (reserved for it at once, already accepted: the
-- operator hears the dialling) or for a queue (the answered call is routed like an inbound
-- call). Consent and calling window were checked against the customer card before. The dial
-- request is written to PostgreSQL after this step (the dials table the adapters read).
-- With `pick` (campaign and call-back dials), the operator is chosen here, atomically, by the
-- queue's strategy among the available members listed in `candidates` (all when empty); when
-- none is available nothing changes and the answer has no call.
-- ARGV[1]: {call_id, op, pick, candidates, queue, customer, number, caller_id, priority,
--           attrs (JSON text), campaign, entry, callback, codes (JSON list), placed_by, site,
--           request_id, method, fingerprint}
-- Returns: {call, snap} or {none = true}
local earlier = replay()
if earlier then return earlier end
local qc = hgetall(queue_key(A.queue))
if qc.strategy == nil then
  return fail('NOT_FOUND', 'QUEUE_NOT_FOUND', 'queue ' .. A.queue .. ' does not exist')
end
if qc.deleted == '1' then
  return fail('FAILED_PRECONDITION', 'QUEUE_DELETED', 'queue ' .. A.queue .. ' is deleted')
end
if A.pick then
  local wanted = {}
  for _, id in ipairs(A.candidates or {}) do wanted[id] = true end
  local any = #(A.candidates or {}) == 0
  A.op = ''
  for _, tier in ipairs(decode(qc.tiers, {1})) do
    for _, id in ipairs(redis.call('ZRANGE', queue_ops(A.queue, tier), 0, -1)) do
      if any or wanted[id] then A.op = id break end
    end
    if A.op ~= '' then break end
  end
  if A.op == '' then return finish({none = true}) end
end
local op
if (A.op or '') ~= '' then
  op = hgetall(op_key(A.op))
  if op.team == nil then
    return fail('NOT_FOUND', 'OPERATOR_NOT_FOUND', 'operator ' .. A.op .. ' does not exist')
  end
  if op.state ~= 'AVAILABLE' and op.state ~= 'NOT_READY' then
    return fail('FAILED_PRECONDITION', 'OPERATOR_NOT_AVAILABLE',
                'operator ' .. A.op .. ' is ' .. (op.state or 'OFFLINE'))
  end
end
local priority = A.priority
if priority == nil or priority < 0 then priority = num(qc.def_prio, 0) end
hset(call_key(A.call_id), {
  state = 'OFFERED', dir = 'OUTBOUND', site = A.site or '', queue = A.queue,
  orig_queue = A.queue, prio = priority, rprio = priority, vip = 0, abusive = 0,
  customer = A.customer or '', lookup = 0, cnum = A.number, dnum = A.caller_id or '',
  attrs = A.attrs or '{}', campaign = A.campaign or '', entry = A.entry or '',
  callback = A.callback or '', codes = A.codes or '', placed_by = A.placed_by or '',
  chain_root = A.call_id, t_offer = NOW, attempt = 0, ver = 1})
redis.call('HINCRBY', queue_key(A.queue), 'offered:' .. DAY, 1)
log_call('call_offered', A.call_id)
if op then
  make_unavailable(A.op, op)
  local reservation = A.call_id .. '/reservations/1'
  local offers = {{op = A.op, attempt = 1, at = NOW, exp = NOW}}
  hset(call_key(A.call_id), {state = 'RESERVED', op = A.op, team = op.team or '',
                             res = reservation, attempt = 1, t_queue = NOW, t_reserve = NOW,
                             t_accept = NOW, accepted = 1, offers = cjson.encode(offers)})
  set_operator_state(A.op, op, 'ON_CALL', '', {call = A.call_id, res = ''})
  log_call('call_reserved', A.call_id, {op = A.op, res = reservation, attempt = 1, exp = NOW,
                                        accepted = true})
end
return finish({call = A.call_id, snap = hgetall(call_key(A.call_id))})
